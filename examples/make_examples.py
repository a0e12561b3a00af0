"""Re-creates the bundled example images (run from the repo root: python examples/make_examples.py): two charts, a CT
slice as PNG, and the same CT slice as a DICOM file and as a NIfTI volume (the README's `vmed describe` commands)."""

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


def _ct_small():
    """pydicom's bundled CT_small.dcm test file (128 x 128, no patient data)."""
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    return dcmread(get_testdata_file("CT_small.dcm"))


def radiograph() -> None:
    """A greyscale image from pydicom's bundled CT_small.dcm test file (no patient data)."""
    ds = _ct_small()
    pixels = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    low, high = 40 - 400 / 2, 40 + 400 / 2  # soft-tissue window
    grey = (np.clip((pixels - low) / (high - low), 0, 1) * 255).astype(np.uint8)
    Image.fromarray(grey, "L").resize((256, 256), Image.Resampling.BICUBIC).save(HERE / "ct_slice.png")


def dicom_scan() -> None:
    """ct_scan.dcm: CT_small.dcm's pixels in a new, minimal DICOM file (RLE lossless, ~20 KB) that holds only the
    image and the facts the DICOM reader uses (modality, orientation, spacing, rescale, a soft-tissue window):
    no patient, study or device fields, and new UIDs."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, RLELossless, generate_uid

    source = _ct_small()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid(entropy_srcs=["vmed example ct_scan"])
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["vmed example study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["vmed example series"])
    ds.Modality = "CT"
    for key in ("ImageOrientationPatient", "PixelSpacing", "SliceThickness", "RescaleIntercept", "RescaleSlope",
                "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                "SamplesPerPixel", "PhotometricInterpretation"):
        setattr(ds, key, source[key].value)
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = source.pixel_array.tobytes()
    ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)  # same bytes every time
    ds.save_as(HERE / "ct_scan.dcm", enforce_file_format=True)


def nifti_scan() -> None:
    """ct_scan.nii.gz: the same CT slice as a one-slice NIfTI volume in Hounsfield units (RAS, CT_small's voxel size),
    laid out so that the NIfTI reader shows it as the DICOM reader does. Skipped when nibabel is not installed."""
    try:
        import nibabel
    except ImportError:
        print("nibabel is not installed: ct_scan.nii.gz not written")
        return
    source = _ct_small()
    hounsfield = (source.pixel_array.astype(np.int32) * int(source.RescaleSlope) + int(source.RescaleIntercept))
    volume = np.rot90(hounsfield.astype(np.int16), -1)[:, :, None]  # the reader shows rot90 of the middle slice
    spacing = [float(v) for v in source.PixelSpacing]
    affine = np.diag([spacing[1], spacing[0], float(source.SliceThickness), 1.0])
    image = nibabel.Nifti1Image(volume, affine)
    image.header.set_xyzt_units("mm")
    nibabel.save(image, HERE / "ct_scan.nii.gz")


if __name__ == "__main__":
    bar_chart()
    line_chart()
    radiograph()
    dicom_scan()
    nifti_scan()
