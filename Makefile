# Build the library, the apps and the tests.
#
#   make              library build/libdl.a, every apps/<name>.cpp -> apps/<name>
#   make test         build and run the doctest suite
#   make SAN=1 test   the same with AddressSanitizer + UBSan (in build-san/)
#   make CUDA=0       build without the CUDA backend (default: auto, if nvcc exists)
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

.PHONY: all test clean doctest FORCE
# Keep app objects (make would delete them as intermediates of apps/%).
.SECONDARY:
all: $(LIB) $(APPS)

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

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	$(CXX) $(LDFLAGS) $(TEST_OBJS) $(LIB) $(LDLIBS) -o $@

test: $(TEST_BIN)
	$(TEST_BIN)

clean:
	rm -rf build build-san $(APPS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
