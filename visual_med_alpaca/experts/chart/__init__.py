"""Offline chart -> data table: OCR (rapidocr, PP-OCR models inside the wheel) + OpenCV colour masks.

Why by hand: no DePlot weights can be had offline, and a chart's geometry is simple enough to measure.
Steps: OCR every text box -> find the numeric value axis (a column or a row of numbers that fit pixel
positions linearly, or in log10) -> split the plot into colour clusters -> bars are the blobs that survive
a morphological opening and stand on the baseline (or on another bar: stacked); lines are thin clusters
sampled at the category ticks -> names from the legend (the text right of a colour swatch) -> values from
numbers printed on the bars when present, else from the axis fit. Horizontal bars are read by rotating the
picture a quarter turn. The answer is DePlot's linearized table; when something cannot be read the text
says so and no number is made up.

Modules (each imports only modules listed above it):
    ocr.py      the rapidocr engine's speed-ups (bit for bit rapidocr's own output)
    text.py     TextBox and what OCR'd words say (numbers, printed values, respacing, reading order)
    axes.py     the value axis: Axis, find_value_axis, numbers in the axis' unit and precision
    colours.py  colour clusters of the plot and the legend that names them
    lines.py    tracing lines at the category ticks and naming them
    table.py    where a chart becomes a table: DePlot's linearized text, the title, the partial table
    bars.py     Component/Bar and the bar reader read_bar_chart
    pies.py     the pie reader read_pie_chart
    dots.py     the dot-plot reader read_dot_plot (round 62: Pew's rows of dots, each value printed beside its dot)
    reader.py   ChartExpert (the OCR calls; the pie, bar, dot-plot and axis-first readers in turn), ChartReading,
                ChartReadError
"""

from .reader import ChartExpert, ChartReadError, ChartReading

__all__ = ["ChartExpert", "ChartReadError", "ChartReading"]
