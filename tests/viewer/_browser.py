"""Reading what Chromium rendered."""

from __future__ import annotations


def image_stats(page, selector: str) -> dict:
    """Pixel statistics of a rendered <img>, read back through a canvas: size, distinct colours, non-white share."""
    return page.eval_on_selector(
        selector,
        """(img) => {
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const context = canvas.getContext('2d');
            context.drawImage(img, 0, 0);
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const colours = new Set(); let dark = 0;
            for (let i = 0; i < data.length; i += 4 * 7) {
                colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
                if (data[i] + data[i + 1] + data[i + 2] < 600) { dark += 1; }
            }
            return {width: img.naturalWidth, height: img.naturalHeight, complete: img.complete,
                    colours: colours.size, nonWhite: dark / (data.length / (4 * 7))};
        }""",
    )
