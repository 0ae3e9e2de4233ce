"""The web app for therapists: FastAPI, server-rendered Jinja2, htmx."""
