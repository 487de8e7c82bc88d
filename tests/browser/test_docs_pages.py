"""The API's docs pages work in a real browser under their own Content-Security-Policy."""

from __future__ import annotations


def test_the_docs_index_link_opens_swagger_ui(browser, served):
    context = browser.new_context()
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        page.goto(served.url + "/v2/")
        page.get_by_text("Swagger").click()
        page.wait_for_url("**/v2/swagger", timeout=10_000)
        page.wait_for_selector(".swagger-ui", timeout=10_000)
    finally:
        context.close()
    assert refused == []
