"""Helper package for the course "Web session management with Redis".

One module per idea:

- ``backend``    which Redis: ``$REDIS_URL`` or an embedded fakeredis server on loopback
- ``roundtrips`` count requests sent to Redis (how many network round trips an operation costs)
- ``store``      ``SessionStore`` (Exercise 1), improved over the lesson's version
- ``admin``      ``SessionAdmin`` (Exercise 3)
- ``web``        FastAPI app factory (Exercise 2)
- ``quiz``       quizzes: ipywidgets in JupyterLab, ``check()`` in plain Python
- ``plots``      TTL sampling and plotting helpers
"""
