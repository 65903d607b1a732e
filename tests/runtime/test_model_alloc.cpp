// Model::forward allocates nothing per decoded token once warmed up. Counts calls of the global operator new
// (replaced for this test binary; it only counts and forwards to malloc).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "tests/test_util.h"

namespace {
std::atomic<long> g_new_calls{0};
}

void* operator new(std::size_t n) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("decoding allocates nothing per token after warm-up", "[runtime][hf]") {
  for (const char* name : {"llama-tiny", "gemma3-tiny", "gemma3n-tiny"}) {
    const std::string dir = unicorn::test::shared_path(std::string("fixtures/hf/") + name);
    if (dir.empty()) {
      WARN("SKIPPED: ../shared/fixtures/hf/" << name << " is absent");
      continue;
    }
    INFO(name);
    unicorn::ModelOptions opts;
    opts.threads = 2;
    auto model = unicorn::Model::load(dir, opts);
    std::vector<float> logits(model->info().vocab_size);
    const std::vector<int32_t> prompt = {2, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    model->forward(prompt, 0, logits.data(), false);
    int pos = static_cast<int>(prompt.size());
    int32_t tok = 3;
    for (int i = 0; i < 2; ++i) model->forward(std::span<const int32_t>(&tok, 1), pos++, logits.data(), false);
    const long before = g_new_calls.load();
    for (int i = 0; i < 8; ++i) model->forward(std::span<const int32_t>(&tok, 1), pos++, logits.data(), false);
    CHECK(g_new_calls.load() - before == 0);
    // A second prompt of the same size after reset() reuses the buffers too.
    model->reset();
    const long before_prefill = g_new_calls.load();
    model->forward(prompt, 0, logits.data(), false);
    CHECK(g_new_calls.load() - before_prefill == 0);
  }
}
