"""The ``daybook`` console script (contract section 5).

Sub-commands live in the modules that do the work and are imported only when
invoked, so ``daybook metrics`` does not pay for importing dbt or Flask.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "demo": "daybook.demo:demo",
    "generate": "daybook.generate.cli:generate",
    "load": "daybook.load.cli:load",
    "build": "daybook.build_cli:build",
    "refresh": "daybook.refresh_cli:refresh",
    "check": "daybook.quality.cli:check",
    "metrics": "daybook.semantic.cli:metrics",
    "sql": "daybook.semantic.cli:sql",
    "token": "daybook.tokens.cli:token",
    "serve": "api.serve:serve",
    "bench": "daybook.bench.cli:bench",
    "spark": "daybook.spark.cli:spark",
}


class LazyGroup(click.Group):
    """A click group that imports each sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> object:
        """Run the sub-command; what comes from outside Daybook ends it with one line, never
        a traceback: a setting it cannot use (``DAYBOOK_DATABASE_URL`` and the like), the
        environment (a PostgreSQL server that does not answer, a folder that cannot be
        created, a DuckDB file another process holds: ``daybook.cli_errors``), and Ctrl-C
        (exit code 130; a command that knows what state it left says so itself)."""
        from daybook.cli_errors import Interrupted, environment_message, is_interrupt
        from daybook.config import ConfigError

        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        except click.ClickException:
            raise
        except (KeyboardInterrupt, Exception) as error:
            if is_interrupt(error):
                raise Interrupted() from None
            message = environment_message(error)
            if message is None:
                raise
            raise click.ClickException(message) from None

    @staticmethod
    def _available(name: str) -> bool:
        module_name = COMMANDS[name].split(":")[0]
        try:
            return importlib.util.find_spec(module_name) is not None
        except ModuleNotFoundError:
            return False


@click.group(cls=LazyGroup)
@click.version_option(package_name="daybook")
def main() -> None:
    """Daybook: activity-analytics warehouse, semantic layer and metrics API.

    The warehouse is chosen by DAYBOOK_DATABASE_URL (default: an embedded
    DuckDB file at .daybook/daybook.duckdb).
    """


if __name__ == "__main__":
    main()
