"""Figures and HTML for reports, LR curves and training history. Plain matplotlib `Figure`
objects and strings: nothing here displays anything or imports IPython."""
