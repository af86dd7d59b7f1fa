// test_metrics.cpp — apps/common/metrics: the Hungarian algorithm against
// brute force, and the lab's scores on hand-made label grids.
#include <algorithm>
#include <numeric>

#include "common/metrics.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// The cheapest assignment by trying all n! permutations.
double brute_force_min_cost(const std::vector<std::vector<double>>& cost) {
  std::vector<int> perm(cost.size());
  std::iota(perm.begin(), perm.end(), 0);
  double best = 1e300;
  do {
    double sum = 0;
    for (size_t i = 0; i < perm.size(); ++i) sum += cost[i][perm[i]];
    best = std::min(best, sum);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// A 10x10 grid whose column c shows digit (c + shift) % 10 in every row.
std::vector<std::vector<int>> grid(int shift) {
  std::vector<std::vector<int>> digits(10, std::vector<int>(10));
  for (int r = 0; r < 10; ++r) {
    for (int c = 0; c < 10; ++c) digits[r][c] = (c + shift) % 10;
  }
  return digits;
}

}  // namespace

TEST_CASE("hungarian_min_cost finds the brute-force optimum on random 6x6 matrices") {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    // Small integer costs (many ties) on even seeds, real ones on odd seeds.
    Generator gen(seed);
    const Values r = vals(rand({36}, DType::Float64, &gen));
    std::vector<std::vector<double>> cost(6, std::vector<double>(6));
    for (int i = 0; i < 36; ++i) cost[i / 6][i % 6] = seed % 2 ? r[i] * 100 - 50 : static_cast<double>(int(r[i] * 4));
    const std::vector<int> assignment = hungarian_min_cost(cost);
    std::vector<int> sorted = assignment;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5});  // a permutation
    double sum = 0;
    for (int i = 0; i < 6; ++i) sum += cost[i][assignment[i]];
    CHECK(sum == doctest::Approx(brute_force_min_cost(cost)));
  }
  CHECK(hungarian_min_cost({}).empty());
  CHECK(hungarian_min_cost({{5.0}}) == std::vector<int>{0});
  CHECK_THROWS_WITH_AS(hungarian_min_cost({{1, 2}, {3}}), doctest::Contains("not square"), Error);
}

TEST_CASE("best_matching is one-to-one where the majority vote is not") {
  // Codes 0 and 1 both mostly show digit 0; code 2 shows digit 2.
  const CountMatrix counts = {{8, 2, 0}, {6, 4, 0}, {0, 0, 10}};
  const Matching m = best_matching(counts);
  CHECK(m.digit_of_code == std::vector<int>{0, 1, 2});
  CHECK(m.accuracy == doctest::Approx(22.0 / 30));
  CHECK(majority_accuracy(counts) == doctest::Approx(24.0 / 30));
  const CountMatrix from_pairs = confusion_matrix({0, 0, 1, 2}, {0, 1, 0, 2}, 3);
  CHECK(from_pairs == CountMatrix{{1, 1, 0}, {1, 0, 0}, {0, 0, 1}});
  CHECK_THROWS_WITH_AS(confusion_matrix({0, 3}, {0, 0}, 3), doctest::Contains("pair 1 (code 3, digit 0)"), Error);
}

TEST_CASE("column_score: the lab's rule and grades on hand-made grids") {
  const ColumnScore perfect = column_score(grid(3));  // any code -> digit map counts
  CHECK(perfect.correct_columns == 10);
  CHECK(perfect.grade_percent == 100);
  CHECK(perfect.majority[0] == 3);

  std::vector<std::vector<int>> weak = grid(0);
  for (int r = 0; r < 4; ++r) weak[r][5] = 1;  // column 5: six 5s, four 1s -> fewer than 7 agree
  const ColumnScore weak_score = column_score(weak);
  CHECK_FALSE(weak_score.correct[5]);
  CHECK(weak_score.correct_columns == 9);
  CHECK(weak_score.grade_percent == 90);

  std::vector<std::vector<int>> shared = grid(0);
  for (int r = 0; r < 10; ++r) shared[r][9] = 8;  // columns 8 and 9 both show 8: neither counts
  const ColumnScore shared_score = column_score(shared);
  CHECK_FALSE(shared_score.correct[8]);
  CHECK_FALSE(shared_score.correct[9]);
  CHECK(shared_score.grade_percent == 80);

  std::vector<std::vector<int>> exactly_seven = grid(0);
  for (int r = 0; r < 3; ++r) exactly_seven[r][2] = 7;  // column 2: seven 2s and three 7s; 7 agreeing is enough
  CHECK(column_score(exactly_seven).correct[2]);

  std::vector<std::vector<int>> poor = grid(0);
  for (int c = 0; c < 6; ++c) {
    for (int r = 0; r < 10; ++r) poor[r][c] = 0;  // six columns of 0s: none of them counts
  }
  CHECK(column_score(poor).correct_columns == 4);
  CHECK(column_score(poor).grade_percent == 0);
  CHECK_THROWS_WITH_AS(column_score({{0, 11}}), doctest::Contains("digit 11 at (0, 1)"), Error);
}

TEST_CASE("purity: per-code share of the majority digit, its mean, minimum and distinctness") {
  const Purity p = purity({{90, 10, 0}, {0, 50, 50}, {0, 0, 100}});
  CHECK(p.per_code == std::vector<double>{0.9, 0.5, 1.0});
  CHECK(p.mean == doctest::Approx(0.8));
  CHECK(p.min == 0.5);
  CHECK(p.distinct_digits);
  CHECK_FALSE(purity({{10, 0}, {7, 3}}).distinct_digits);
}
