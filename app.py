"""Start the GLM-Image demo: settings -> backend -> UI -> launch.

    python app.py

Serves on 127.0.0.1:7860; GRADIO_SERVER_NAME and GRADIO_SERVER_PORT override (a
Hugging Face Space sets the name to 0.0.0.0). With no RUNWARE_API_KEY the mock backend
runs inside this process. GLM_IMAGE_MCP=1 also serves the MCP endpoint with one tool,
``generate_image`` (needs ``gradio[mcp]``, in requirements.txt).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def main() -> int:
    from demo.backend import make_backend
    from demo.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        backend = make_backend(settings)
        server_port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError:
        print("error: GRADIO_SERVER_PORT must be a port number", file=sys.stderr)
        return 2

    mcp = _flag("GLM_IMAGE_MCP")
    if mcp:
        try:
            import mcp as _  # noqa: F401  (what Gradio's MCP server needs)
        except ImportError:
            print("error: GLM_IMAGE_MCP=1 needs the MCP extra: pip install 'gradio[mcp]'", file=sys.stderr)
            return 2

    from demo.ui import build_ui, launch_kwargs

    demo = build_ui(settings, backend, mcp=mcp)
    # Say which backend is active, never the key.
    where = "in-process mock" if getattr(backend, "in_process", False) else backend.base_url
    print(f"GLM-Image demo: {backend.label} ({where})", flush=True)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=server_port,
        mcp_server=mcp,
        **launch_kwargs(backend),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
