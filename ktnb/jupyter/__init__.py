"""The notebook face of ktnb: magics, the widget panel and progress views. The only modules
that import IPython or ipywidgets; they call the engine and listen to its events."""
