"""The GLM-Image demo: the Runware client (pluggable backend) and the Gradio UI."""
