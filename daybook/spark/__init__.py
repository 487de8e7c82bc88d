"""Apache Spark as a warehouse backend: the local Connect server, the client session, DB-API.

- ``server``: ``daybook spark start|stop|status`` (a local Spark Connect server).
- ``session``: the one place a client session is opened (and pyspark's variables cleared).
- ``dbapi``: a DB-API connection over a session (``daybook.warehouse.connect`` on ``sc://``).
"""
