"""Re-creates the three bundled example images (run from the repo root: python examples/make_examples.py)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

HERE = Path(__file__).parent


def bar_chart() -> None:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    groups, before, after = ["Treatment", "Control"], [42, 40], [12, 37]
    x = np.arange(len(groups))
    ax.bar(x - 0.2, before, 0.4, label="Before", color="#4C72B0")
    ax.bar(x + 0.2, after, 0.4, label="After", color="#DD8452")
    ax.set_xticks(x, groups)
    ax.set_ylabel("Number of papules")
    ax.set_title("The number of papules")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "bar_chart.png")
    plt.close(fig)


def line_chart() -> None:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    weeks = np.arange(0, 13, 2)
    ax.plot(weeks, [140, 136, 131, 128, 126, 125, 124], marker="o", label="Drug A")
    ax.plot(weeks, [141, 140, 139, 139, 138, 138, 137], marker="s", label="Placebo")
    ax.set_xlabel("Week")
    ax.set_ylabel("Systolic blood pressure (mmHg)")
    ax.set_title("Blood pressure over 12 weeks")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "line_chart.png")
    plt.close(fig)


def radiograph() -> None:
    """A greyscale image from pydicom's bundled CT_small.dcm test file (no patient data)."""
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    ds = dcmread(get_testdata_file("CT_small.dcm"))
    pixels = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    low, high = 40 - 400 / 2, 40 + 400 / 2  # soft-tissue window
    grey = (np.clip((pixels - low) / (high - low), 0, 1) * 255).astype(np.uint8)
    Image.fromarray(grey, "L").resize((256, 256), Image.Resampling.BICUBIC).save(HERE / "ct_slice.png")


if __name__ == "__main__":
    bar_chart()
    line_chart()
    radiograph()
