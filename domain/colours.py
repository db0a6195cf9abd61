"""Colour matching: providers offer fixed palettes, so a service's colour is written as the nearest one they have."""

from __future__ import annotations

from collections.abc import Mapping

# RFC 7986 COLOR takes a CSS3 colour name; these are the distinct ones a calendar app is likely to render.
CSS_COLOURS: Mapping[str, str] = {
    "black": "#000000", "gray": "#808080", "silver": "#c0c0c0", "white": "#ffffff", "maroon": "#800000",
    "red": "#ff0000", "orange": "#ffa500", "gold": "#ffd700", "yellow": "#ffff00", "olive": "#808000",
    "lime": "#00ff00", "green": "#008000", "teal": "#008080", "turquoise": "#40e0d0", "aqua": "#00ffff",
    "blue": "#0000ff", "navy": "#000080", "steelblue": "#4682b4", "purple": "#800080", "fuchsia": "#ff00ff",
    "pink": "#ffc0cb", "brown": "#a52a2a", "tomato": "#ff6347", "salmon": "#fa8072",
}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")[:6]
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def nearest_colour(hex_colour: str, palette: Mapping[str, str]) -> str:
    """The palette key whose colour is closest to `hex_colour` ("#rrggbb"), by a perceptually weighted RGB
    distance (the "redmean" approximation); ties go to the first key in sorted order."""
    red, green, blue = _rgb(hex_colour)

    def distance(name: str) -> float:
        r, g, b = _rgb(palette[name])
        mean = (red + r) / 2
        return (2 + mean / 256) * (red - r) ** 2 + 4 * (green - g) ** 2 + (2 + (255 - mean) / 256) * (blue - b) ** 2

    return min(sorted(palette), key=distance)


# Google Calendar's event colours (colors.get "event" palette): the colorId an event may carry, "1".."11".
GOOGLE_EVENT_COLOURS: Mapping[str, str] = {
    "1": "#a4bdfc", "2": "#7ae7bf", "3": "#dbadff", "4": "#ff887c", "5": "#fbd75b", "6": "#ffb878",
    "7": "#46d6db", "8": "#e1e1e1", "9": "#5484ed", "10": "#51b749", "11": "#dc2127",
}
