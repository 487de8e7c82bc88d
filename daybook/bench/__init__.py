"""``daybook bench``: the whole system measured at a chosen size, with floors from the same run.

Modules: ``phases`` (generate/load/build in child processes, for time and
peak memory), ``arrivals`` (five minutes of new heartbeats for the refresh
measurement), ``servers`` (gunicorn processes), ``bare`` (the floor apps),
``wrk`` (the load tool), ``inproc`` (the raw-driver floor), ``report``
(JSON and markdown), ``cli`` (the command that runs it all).
"""
