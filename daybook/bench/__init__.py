"""``daybook bench``: the whole system measured at a chosen size, with floors from the same run.

Modules: ``phases`` (generate/load/floor/build in child processes, for time
and peak memory), ``warehouses`` (a fresh warehouse per run: load, full build,
refreshes, drop), ``arrivals`` (five minutes of new heartbeats for the refresh
measurement), ``http`` (the API and its floors under wrk), ``servers``
(gunicorn processes), ``bare`` (the floor apps), ``wrk`` (the load tool),
``slow`` (slow connections held open), ``inproc`` (the raw-driver floor),
``floor`` (one hand-written statement from raw to the facts, the build's
yardstick), ``targets`` (issue 14's build targets judged on a record),
``report`` (JSON, markdown and progress lines), ``settings`` (the options every
backend reads), ``cli`` (the command that runs it all).
"""
