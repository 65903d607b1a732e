#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/atomic_file.h"
#include "base/background_copy.h"
#include "base/dtype.h"
#include "base/error.h"
#include "base/half.h"
#include "base/thread_pool.h"
#include "tests/test_util.h"

using namespace unicorn;

TEST_CASE("fp16 conversion is exact on known values and round-trips every half") {
  CHECK(f32_to_f16(1.0f) == 0x3c00);
  CHECK(f32_to_f16(-2.0f) == 0xc000);
  CHECK(f32_to_f16(65504.0f) == 0x7bff);
  CHECK(f32_to_f16(1e6f) == 0x7c00);                 // overflow to inf
  CHECK(f32_to_f16(5.9604645e-08f) == 0x0001);        // smallest subnormal
  CHECK(f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);    // tie rounds to even
  CHECK(f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    REQUIRE(f32_to_f16(f) == h);
  }
}

TEST_CASE("bf16 conversion rounds to nearest even") {
  CHECK(f32_to_bf16(1.0f) == 0x3f80);
  CHECK(bf16_to_f32(0x3f80) == 1.0f);
  CHECK(f32_to_bf16(bits_to_float(0x3f808000)) == 0x3f80);  // tie -> even
  CHECK(f32_to_bf16(bits_to_float(0x3f818000)) == 0x3f82);
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST_CASE("dtype traits match GGML block layouts") {
  CHECK(dtype_row_bytes(DType::Q4_K, 512) == 288);
  CHECK(dtype_row_bytes(DType::Q6_K, 256) == 210);
  CHECK(dtype_row_bytes(DType::Q8_0, 64) == 68);
  CHECK(dtype_from_ggml(12) == DType::Q4_K);
  CHECK_FALSE(dtype_from_ggml(99).has_value());
  CHECK(dtype_from_name("Q5_K") == DType::Q5_K);
  CHECK_THROWS_AS(dtype_row_bytes(DType::Q4_0, 33), Error);
}

TEST_CASE("errors are one line with their context") {
  Error e("bad value\nsecond", {"model.gguf", "blk.0.attn_q.weight", "shape"});
  CHECK(std::string(e.what()) == "model.gguf: blk.0.attn_q.weight: shape: bad value second");
}

TEST_CASE("thread pool covers the range exactly once and propagates errors") {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1001);
  pool.parallel_for(hits.size(), [&](int, size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits) REQUIRE(h.load() == 1);
  CHECK_THROWS_AS(pool.parallel_for(10, [](int, size_t b, size_t) { if (b > 0) fail("boom"); }), Error);
}

TEST_CASE("thread pool runs many back-to-back calls, after sleeping too, each chunk once") {
  // Decode makes ~100 short calls per token: each must see its own job (no chunk of the previous call run again,
  // none skipped), whether the workers were still spinning or had gone to sleep in between.
  ThreadPool pool(3);
  std::vector<int> sum(4000, 0);
  for (int call = 0; call < 4000; ++call) {
    std::atomic<int> total{0};
    pool.parallel_for(static_cast<size_t>(call % 7 + 2), [&](int, size_t b, size_t e) {
      total += static_cast<int>(e - b) * call;
    });
    sum[static_cast<size_t>(call)] = total.load();
    if (call % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let workers sleep
  }
  for (int call = 0; call < 4000; ++call) REQUIRE(sum[static_cast<size_t>(call)] == (call % 7 + 2) * call);
  // The pool still works after an error.
  CHECK_THROWS_AS(pool.parallel_for(10, [](int, size_t b, size_t) { if (b > 0) fail("boom"); }), Error);
  std::atomic<int> n{0};
  pool.parallel_for(3, [&](int, size_t b, size_t e) { n += static_cast<int>(e - b); });
  CHECK(n.load() == 3);
}

TEST_CASE("atomic file writer leaves nothing behind unless committed") {
  const std::string dir = test::temp_dir("atomic");
  const std::string path = dir + "/out.bin";
  {
    AtomicFileWriter w(path);
    w.write("abc", 3);
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 0);
  {
    AtomicFileWriter w(path);
    w.write("abc", 3);
    w.pad_to(8);
    w.commit();
  }
  CHECK(std::filesystem::file_size(path) == 8);
  std::filesystem::remove_all(dir);
}

TEST_CASE("background copy: groups done in order, each waitable, kept sources, no copies") {
  // Group g's destination is 1 MiB; sources differ per group so a mixed-up copy shows.
  constexpr size_t kBytes = 1 << 20;
  std::vector<std::vector<uint8_t>> src(6), dst(6, std::vector<uint8_t>(kBytes, 0));
  for (int g = 0; g < 6; ++g) src[g].assign(kBytes, static_cast<uint8_t>(17 * g + 3));
  BackgroundCopy copy;
  // Added out of order, group 3 absent; group -1 (the ones a consumer needs first) from a kept temporary.
  for (int g : {4, 1, 5, 2, 0}) copy.add(g, dst[g].data(), src[g].data(), kBytes);
  {
    std::vector<uint8_t> temporary(kBytes, 0xEE);
    copy.add(-1, dst[3].data(), temporary.data(), kBytes, /*keep=*/true);
  }  // the temporary is gone; the kept copy is what gets written
  CHECK_THROWS_AS(copy.wait_for(0), Error);  // not started
  CHECK_THROWS_AS(copy.ready(0), Error);
  copy.start();
  CHECK_THROWS_AS(copy.add(0, dst[0].data(), src[0].data(), 1), Error);
  for (int g : {-1, 0, 1, 2, 3, 4, 5}) {
    copy.wait_for(g);
    // Every group up to g is complete (3 has no copies of its own: dst[3] holds group -1's bytes).
    for (int h = -1; h <= g; ++h) {
      const int slot = h == -1 ? 3 : h;
      if (h == 3) continue;
      const uint8_t want = h == -1 ? 0xEE : static_cast<uint8_t>(17 * h + 3);
      REQUIRE(dst[slot].front() == want);
      REQUIRE(dst[slot].back() == want);
    }
  }
  copy.finish();
  copy.wait_for(100);  // past the last group: returns at once
  CHECK(copy.ready(100));

  BackgroundCopy none;
  none.start();
  none.wait_for(7);
  none.finish();
  CHECK_THROWS_AS(none.start(), Error);
}

TEST_CASE("background copy: writers, the group-end hook before a group counts as done, a writer's error") {
  // Writers append (group, first byte) to a log; the hook marks each group's end. A group counts as copied only
  // after its hook ran, so a waiter for group g sees g's end in the log.
  std::mutex mu;
  std::vector<std::string> log;
  const std::vector<uint8_t> a(64, 1), b(64, 2);
  BackgroundCopy copy;
  const auto writer = [&](int g) {
    return [&, g](const void* src, uint64_t n) {
      std::lock_guard<std::mutex> lock(mu);
      log.push_back(str_cat("w", g, ":", int(static_cast<const uint8_t*>(src)[0]), ":", n));
    };
  };
  copy.add(1, writer(1), b.data(), 64);
  copy.add(0, writer(0), a.data(), 64);
  {
    std::vector<uint8_t> temporary(8, 9);
    copy.add(0, writer(0), temporary.data(), 8, /*keep=*/true);
  }
  int ends = 0;
  copy.set_group_end([&] {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(str_cat("end", ends++));
  });
  copy.start();
  copy.wait_for(0);
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(log.size() >= 3);
    CHECK(log[0] == "w0:1:64");
    CHECK(log[1] == "w0:9:8");
    CHECK(log[2] == "end0");
  }
  copy.finish();
  CHECK(log == std::vector<std::string>{"w0:1:64", "w0:9:8", "end0", "w1:2:64", "end1"});
  CHECK_THROWS_AS(BackgroundCopy().add(0, BackgroundCopy::Writer(), a.data(), 1), Error);

  // A writer that throws: the worker stops, waiters for that group and later ones get the error, earlier groups
  // stay done.
  BackgroundCopy failing;
  failing.add(0, writer(0), a.data(), 64);
  failing.add(1, [](const void*, uint64_t) { throw Error("device copy failed"); }, a.data(), 64);
  failing.add(2, writer(2), a.data(), 64);
  failing.start();
  CHECK_NOTHROW(failing.wait_for(0));
  CHECK_THROWS_WITH(failing.wait_for(1), Catch::Contains("device copy failed"));
  CHECK_THROWS_WITH(failing.wait_for(2), Catch::Contains("device copy failed"));
  CHECK_FALSE(failing.ready(2));
  CHECK_THROWS_AS(failing.finish(), Error);
}
