"""Small pieces shared by the ipywidgets apps (the viewer and the MOS rating app)."""
from __future__ import annotations


def widget_text(root) -> list[str]:
    """Every string a widget tree shows (description, value, placeholder, tooltip), depth first:
    what tests read to check what a person sees (the MOS app's blindness, the viewer's captions)."""
    out = []

    def walk(w):
        for attr in ("description", "value", "placeholder", "tooltip"):
            v = getattr(w, attr, None)
            if isinstance(v, str):
                out.append(v)
        for child in getattr(w, "children", ()):
            walk(child)

    walk(root)
    return out
