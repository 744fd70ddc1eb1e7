"""The 驾驶舱 on the web: the signed links `看板` hands out (links), the read-only pages under /dash/ (web),
rendered by Jinja2 templates with autoescape and server-drawn SVG charts (render)."""
