"""The wire: REST ``POST /v1`` and WebSocket ``/v1`` as two framings of one pipeline.

``rest`` and ``ws`` only frame (read a body or a message, send a response or
messages); ``dispatch`` decodes a batch of tasks, authenticates it (``auth``),
validates each task and hands it to its handler; ``envelope`` builds every answer
the mock sends, errors included; ``errors`` turns framework exceptions into such
answers; ``openapi`` documents the routes.
"""

# REST and WebSocket share the path, as on the live API.
API_PATH = "/v1"
