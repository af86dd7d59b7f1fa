// metrics.cpp — see metrics.h.
#include "common/metrics.h"

#include <algorithm>
#include <limits>
#include <set>

#include "tensor/error.h"

namespace dl {

std::vector<int> hungarian_min_cost(const std::vector<std::vector<double>>& cost) {
  const int n = static_cast<int>(cost.size());
  for (const auto& row : cost) check(static_cast<int>(row.size()) == n, "hungarian: cost matrix is not square");
  // Rows and columns are numbered from 1; column 0 is a sentinel whose
  // "match" is the row currently being inserted. u and v are the dual
  // potentials: cost[i][j] - u[i] - v[j] >= 0 always, and = 0 on matched
  // pairs, which is what makes the final matching optimal.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> match(n + 1, 0), way(n + 1, 0);  // match[column] = row
  for (int row = 1; row <= n; ++row) {
    match[0] = row;
    int column = 0;
    std::vector<double> min_slack(n + 1, inf);
    std::vector<bool> used(n + 1, false);
    // Grow a tree of tight edges from `row` until it reaches a free column
    // (a shortest augmenting path, Dijkstra-like over reduced costs).
    do {
      used[column] = true;
      const int current_row = match[column];
      double delta = inf;
      int next_column = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double slack = cost[current_row - 1][j - 1] - u[current_row] - v[j];
        if (slack < min_slack[j]) {
          min_slack[j] = slack;
          way[j] = column;
        }
        if (min_slack[j] < delta) {
          delta = min_slack[j];
          next_column = j;
        }
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else {
          min_slack[j] -= delta;
        }
      }
      column = next_column;
    } while (match[column] != 0);
    // Flip the matching along the path back to the sentinel.
    do {
      const int previous = way[column];
      match[column] = match[previous];
      column = previous;
    } while (column != 0);
  }
  std::vector<int> column_of_row(n);
  for (int j = 1; j <= n; ++j) column_of_row[match[j] - 1] = j - 1;
  return column_of_row;
}

CountMatrix confusion_matrix(const std::vector<int64_t>& codes, const std::vector<int64_t>& digits, int k) {
  check(codes.size() == digits.size(), "confusion_matrix: ", codes.size(), " codes but ", digits.size(), " digits");
  CountMatrix counts(k, std::vector<int64_t>(k, 0));
  for (size_t i = 0; i < codes.size(); ++i) {
    check(0 <= codes[i] && codes[i] < k && 0 <= digits[i] && digits[i] < k, "confusion_matrix: pair ", i, " (code ",
          codes[i], ", digit ", digits[i], ") is outside 0..", k - 1);
    ++counts[codes[i]][digits[i]];
  }
  return counts;
}

namespace {
int64_t total(const CountMatrix& counts) {
  int64_t n = 0;
  for (const auto& row : counts) {
    for (int64_t c : row) n += c;
  }
  return n;
}
double fraction(int64_t part, int64_t whole) { return whole > 0 ? static_cast<double>(part) / whole : 0.0; }
int argmax(const std::vector<int64_t>& row) {
  return static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
}
}  // namespace

Matching best_matching(const CountMatrix& counts) {
  // Maximising matched counts = minimising their negatives.
  std::vector<std::vector<double>> cost(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    for (int64_t c : counts[i]) cost[i].push_back(-static_cast<double>(c));
  }
  Matching result;
  result.digit_of_code = hungarian_min_cost(cost);
  int64_t matched = 0;
  for (size_t code = 0; code < counts.size(); ++code) matched += counts[code][result.digit_of_code[code]];
  result.accuracy = fraction(matched, total(counts));
  return result;
}

double majority_accuracy(const CountMatrix& counts) {
  int64_t matched = 0;
  for (const auto& row : counts) matched += row.empty() ? 0 : row[argmax(row)];
  return fraction(matched, total(counts));
}

ColumnScore column_score(const std::vector<std::vector<int>>& digits) {
  check(!digits.empty(), "column_score: empty grid");
  const size_t rows = digits.size(), columns = digits[0].size();
  ColumnScore score;
  std::vector<int> agreeing(columns, 0);
  for (size_t c = 0; c < columns; ++c) {
    std::vector<int64_t> votes(10, 0);
    for (size_t r = 0; r < rows; ++r) {
      check(digits[r].size() == columns, "column_score: row ", r, " has ", digits[r].size(), " columns, not ",
            columns);
      check(0 <= digits[r][c] && digits[r][c] <= 9, "column_score: digit ", digits[r][c], " at (", r, ", ", c,
            ") is not 0..9");
      ++votes[digits[r][c]];
    }
    score.majority.push_back(argmax(votes));
    agreeing[c] = static_cast<int>(votes[score.majority.back()]);
  }
  for (size_t c = 0; c < columns; ++c) {
    const bool shared = std::count(score.majority.begin(), score.majority.end(), score.majority[c]) > 1;
    score.correct.push_back(agreeing[c] >= 7 && !shared);
    score.correct_columns += score.correct.back();
  }
  const int n = score.correct_columns;
  score.grade_percent = n == 10 ? 100 : n == 9 ? 90 : n >= 7 ? 80 : n >= 5 ? 60 : 0;
  return score;
}

Purity purity(const CountMatrix& counts) {
  Purity result;
  std::set<int> majorities;
  for (const auto& row : counts) {
    int64_t n = 0;
    for (int64_t c : row) n += c;
    const int majority = argmax(row);
    majorities.insert(majority);
    result.per_code.push_back(fraction(row[majority], n));
  }
  check(!result.per_code.empty(), "purity: no codes");
  for (double p : result.per_code) result.mean += p / result.per_code.size();
  result.min = *std::min_element(result.per_code.begin(), result.per_code.end());
  result.distinct_digits = majorities.size() == counts.size();
  return result;
}

Coverage coverage(const std::vector<int64_t>& digits, const std::vector<double>& confidence, double threshold, int k) {
  check(!digits.empty() && digits.size() == confidence.size(), "coverage: expected one confidence per digit, got ",
        digits.size(), " digits and ", confidence.size(), " confidences");
  Coverage result;
  std::vector<int64_t> counts(static_cast<size_t>(k), 0);
  int64_t confident = 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    check(digits[i] >= 0 && digits[i] < k, "coverage: digit ", digits[i], " is not in [0, ", k, ")");
    ++counts[static_cast<size_t>(digits[i])];
    confident += confidence[i] >= threshold;
  }
  const int64_t n = static_cast<int64_t>(digits.size());
  result.confident_share = fraction(confident, n);
  for (int64_t c : counts) result.digit_share.push_back(fraction(c, n));
  const auto [lo, hi] = std::minmax_element(result.digit_share.begin(), result.digit_share.end());
  result.min_share = *lo;
  result.max_share = *hi;
  return result;
}

LabelAccuracy label_accuracy(const std::vector<int64_t>& labels, const std::vector<int64_t>& digits, int k) {
  const CountMatrix counts = confusion_matrix(labels, digits, k);
  LabelAccuracy result;
  int64_t right = 0;
  for (int c = 0; c < k; ++c) {
    int64_t n = 0;
    for (int64_t v : counts[static_cast<size_t>(c)]) n += v;
    check(n > 0, "label_accuracy: no samples of class ", c);
    right += counts[static_cast<size_t>(c)][static_cast<size_t>(c)];
    result.per_class.push_back(fraction(counts[static_cast<size_t>(c)][static_cast<size_t>(c)], n));
  }
  result.overall = fraction(right, total(counts));
  result.min = *std::min_element(result.per_class.begin(), result.per_class.end());
  return result;
}

}  // namespace dl
