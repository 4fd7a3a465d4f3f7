.PHONY: start test lint

start:
	python3 dev.py start

test:
	python3 dev.py test $(ARGS)

lint:
	python3 dev.py lint
