# `make run` and `make test` set everything up on a fresh machine: a virtual
# environment in .venv with the pinned versions of constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make package` builds the one-folder desktop app in dist/gcnet-annotator/ (PyInstaller,
# pinned here: packaging tools are not needed to run or test the app).
PACKAGING := pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9 altgraph==0.17.5
PREFIX ?= $(HOME)/.local

.PHONY: run test quick install clean package install-desktop

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gcnet-annotator

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# The inner loop while editing: everything but real training runs and slow tests (make test runs all).
quick: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not training and not slow and not reference"

package: $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check -q $(PACKAGING)
	QT_QPA_PLATFORM=offscreen $(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/gcnet-annotator.spec
	dist/gcnet-annotator/gcnet --version
	dist/gcnet-annotator/gcnet-annotator --version
	du -sh dist/gcnet-annotator

# The built folder's programs on PATH, its icon and desktop entry in the menus (Linux, per user).
install-desktop:
	test -x dist/gcnet-annotator/gcnet-annotator || $(MAKE) package
	mkdir -p $(PREFIX)/bin $(PREFIX)/share/applications $(PREFIX)/share/icons
	ln -sf $(CURDIR)/dist/gcnet-annotator/gcnet-annotator $(CURDIR)/dist/gcnet-annotator/gcnet $(PREFIX)/bin/
	cp -r resources/icons/hicolor $(PREFIX)/share/icons/
	cp packaging/gcnet-annotator.desktop $(PREFIX)/share/applications/
	if command -v update-desktop-database >/dev/null; then update-desktop-database -q $(PREFIX)/share/applications; fi
	if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q -t $(PREFIX)/share/icons/hicolor; fi

clean:
	rm -rf $(VENV) build dist *.egg-info
