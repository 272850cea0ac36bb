# make lab: JupyterLab on the notebooks with everything installed. make test / make quickstart:
# the README's two commands.
.PHONY: lab test quickstart screenshots wheel

lab:
	bash scripts/setup.sh
	.venv/bin/python -m pip install -q -e ".[notebook]"
	. scripts/env.sh && .venv/bin/jupyter lab notebooks

test:
	bash scripts/test.sh

quickstart:
	bash scripts/quickstart.sh

# retake the README's screenshots (the browser test takes them)
screenshots:
	bash scripts/setup.sh && bash scripts/setup-browser.sh
	. scripts/env.sh && KTNB_SMALL=0 KTNB_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/test_browser.py -k "not tasks_notebook"

# the wheel a workshop teacher hands out (dist/ktnb-*.whl): uploaded beside a notebook on Colab,
# the notebook's first cell installs it
wheel:
	bash scripts/setup.sh
	rm -rf dist && .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w dist .
	@ls dist/*.whl
