# The project's commands. README.md documents them; .ci/run calls `make test`.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
DATA ?= $(abspath ../shared/datasets)
# The last three: the C kernels cross-compiled for ARM64 and run under emulation (make kernels-c).
APT_PACKAGES := libzstd-dev zlib1g-dev libopenblas-dev libssl-dev pkg-config dataset-fashion-mnist chromium \
    libc6-dev-arm64-cross libgcc-12-dev-arm64-cross qemu-user
PY_PACKAGES := numpy zstandard

.PHONY: deps test kernels-c tsan run build fixtures fuzz bench clean

# MNIST: the shared copy when present (CI, development), else ./data/mnist (downloaded and
# SHA-256-checked by rnn-train on first use).
DATA_DIR ?= $(if $(wildcard ../shared/datasets/mnist),$(abspath ../shared/datasets/mnist),data/mnist)
MODEL ?= models/mnist-lstm.rnnm
BIN = .build/$(CONFIG)
# Debug builds (the tests) still compile the C kernels (Sources/RNNKernels) optimized: at -O0 their
# vector code runs about 50x slower and the real-data training tests would take many minutes.
# (A command-line flag rather than unsafeFlags in Package.swift, which would stop other packages
# from depending on this one.)
DEBUG_FLAGS := -Xcc -O2

# Install the system libraries and Python packages the build and tests need.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
	@python3 -c "import numpy, zstandard" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check $(PY_PACKAGES)

# The test command: the C kernels' variants natively and on ARM64 under emulation (`make kernels-c`),
# every Swift test, the Python reference reader over the fixtures, and the analysis report rendered
# in headless Chromium, the C API from C and Python (examples/run.sh), and the thread tests of
# streams and shared handles under ThreadSanitizer (`make tsan`; TSAN=0 skips it and run.sh's
# ThreadSanitizer step).
test: deps
	bash Tests/KernelsC/run.sh
	$(SWIFT) build $(DEBUG_FLAGS)
	$(SWIFT) test $(DEBUG_FLAGS)
	python3 spec/reference/test_reference.py
	python3 Tests/RNNReportTests/browser/check_report.py .build/debug/rnn-report --data $(DATA_DIR)
	MNIST_DIR=$(DATA_DIR) bash examples/run.sh
	@if [ "$${TSAN:-1}" != 0 ]; then $(MAKE) --no-print-directory tsan; fi

# The C kernels alone (Tests/KernelsC/run.sh, about 30 s): the architecture lint; every vector
# variant this CPU runs against the portable C variant on every tile remainder; the same
# cross-compiled for aarch64 and run under qemu-aarch64 (the NEON variants); every C file of the
# package cross-compiled for aarch64. ARM64=0 skips the ARM part.
kernels-c: deps
	bash Tests/KernelsC/run.sh

# ThreadSanitizer over the tests whose threads share one stream or one model handle: the Swift
# runtime's Stream (SequenceModelTests) and the C API's streams and handles (CAPIStreamTests,
# CAPITests). Its own scratch path (.build-tsan, also used by examples/run.sh's TSAN=full), so the
# instrumented build neither replaces nor invalidates the normal one. Measured on 2 shared cores
# (load average 8): 10 minutes from scratch (the whole package and its tests, instrumented), 7 s
# once built; the tests themselves take 1 s.
TSAN_TESTS := aStreamSharedBetweenThreadsStaysConsistent|threadsSharingAStreamAndOwningStreamsStayConsistent|freeingAStreamWhileThreadsStepItIsSafe|threadsSharingOneHandleGetTheSingleThreadLogits
tsan: deps
	$(SWIFT) build --build-tests --scratch-path .build-tsan --sanitize=thread $(DEBUG_FLAGS)
	TSAN_OPTIONS="halt_on_error=1" $(SWIFT) test --skip-build --scratch-path .build-tsan --sanitize=thread $(DEBUG_FLAGS) \
	    --filter '$(TSAN_TESTS)'

# Regenerate every committed fixture deterministically (format corpus, then golden files).
fixtures: deps
	$(SWIFT) run -c $(CONFIG) rnn-fixtures fixtures
	$(SWIFT) run -c $(CONFIG) rnn-golden --data $(DATA_DIR) fixtures/golden

# libFuzzer + AddressSanitizer (fuzz/README.md): FUZZ_TARGET is reader (the model reader), tar, idx,
# tokenizer or checkpoint; FUZZ_SECONDS=1800 for 30 minutes.
FUZZ_TARGET ?= reader
FUZZ_SECONDS ?= 600
fuzz: deps
	nice -n 19 fuzz/run.sh $(FUZZ_TARGET) $(FUZZ_SECONDS)

build: deps
	$(SWIFT) build -c $(CONFIG) --product rnn-train
	$(SWIFT) build -c $(CONFIG) --product rnn-infer
	$(SWIFT) build -c $(CONFIG) --product rnn-report

# The main job, the course question ("can an RNN do better than a CNN?") answered in one run: on MNIST
# and on Fashion-MNIST, train the course LSTM and the LeNet CNN with the same trainer, export both,
# classify the MNIST test set with rnn-infer (accuracy, confusion matrix), and write one report per
# data set (reports/mnist/, reports/fashion-mnist/) whose "The answer" sets the two models side by side:
# accuracy, parameters, file size (f32, int8), training time and images/s at batch 1 and 10,000, all
# measured here by the same runtime.
CNN_MODEL ?= $(dir $(MODEL))mnist-cnn.rnnm
FASHION_DIR ?= $(if $(wildcard /usr/share/datasets/fashion-mnist),/usr/share/datasets/fashion-mnist,data/fashion-mnist)
run: build
	@mkdir -p $(dir $(MODEL)) reports
	$(BIN)/rnn-train --data $(DATA_DIR) --output $(MODEL)
	$(BIN)/rnn-train --arch cnn --data $(DATA_DIR) --output $(CNN_MODEL)
	$(BIN)/rnn-infer inspect $(MODEL)
	$(BIN)/rnn-infer inspect $(CNN_MODEL)
	$(BIN)/rnn-infer $(DATA_DIR)/t10k-images-idx3-ubyte.gz --model $(MODEL) --format csv \
	    --labels $(DATA_DIR)/t10k-labels-idx1-ubyte.gz --misclassified reports/mnist-missed.svg > $(dir $(MODEL))mnist-predictions.csv
	$(BIN)/rnn-report --model $(MODEL) --cnn-model $(CNN_MODEL) --data $(DATA_DIR) --output reports/mnist \
	    $(if $(wildcard bench/out/compare.json),--comparison bench/out/compare.json) \
	    $(if $(wildcard bench/out/imdb-compare.json),--imdb-comparison bench/out/imdb-compare.json) \
	    $(if $(wildcard bench/results/family.json),--family bench/results/family.json)
	$(BIN)/rnn-train --dataset fashion-mnist --data $(FASHION_DIR) --output $(dir $(MODEL))fashion-mnist-lstm.rnnm
	$(BIN)/rnn-train --arch cnn --dataset fashion-mnist --data $(FASHION_DIR) --output $(dir $(MODEL))fashion-mnist-cnn.rnnm
	$(BIN)/rnn-report --dataset fashion-mnist --data $(FASHION_DIR) --model $(dir $(MODEL))fashion-mnist-lstm.rnnm \
	    --cnn-model $(dir $(MODEL))fashion-mnist-cnn.rnnm --output reports/fashion-mnist
	@echo "reports: reports/mnist/index.html, reports/fashion-mnist/index.html (summaries: REPORT.md in each)"

clean:
	rm -rf .build .build-tsan .build-kernels-c
