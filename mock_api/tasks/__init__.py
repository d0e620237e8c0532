"""One handler per task kind: ``handler(ctx, task) -> TaskResult``.

A handler gets a validated task and the request's context (``handler``); it never
sees the transport. ``session`` answers authentication and ping, ``inference``
imageInference by delivery method, ``lookup`` getResponse and getTaskDetails,
``upload`` imageUpload, ``media`` mediaStorage, ``account`` accountManagement.
"""
