// metrics.h — how the apps score what a generative model learned
// (docs/lab.md, "Demo and grading"), shared by every app that judges codes
// or classes: the best one-to-one code -> digit matching (our own Hungarian
// algorithm), majority-vote accuracy, the spec's column score for the 10x10
// grid, and purity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dl {

using CountMatrix = std::vector<std::vector<int64_t>>;  // [row][column]

// Minimum-cost assignment of rows to columns of a square cost matrix
// (Kuhn-Munkres with potentials, O(n^3)): result[row] = its column.
std::vector<int> hungarian_min_cost(const std::vector<std::vector<double>>& cost);

// counts[code][digit]: how often samples with that code were that digit.
// Codes and digits are 0..k-1; throws naming the first value out of range.
CountMatrix confusion_matrix(const std::vector<int64_t>& codes, const std::vector<int64_t>& digits, int k);

// The one-to-one code -> digit map that agrees with the most samples, and
// the fraction of samples it gets right ("Q-accuracy" when the codes are
// Q's predictions on labelled test images).
struct Matching {
  std::vector<int> digit_of_code;
  double accuracy = 0;
};
Matching best_matching(const CountMatrix& counts);

// Each code mapped to its own most frequent digit (codes may share one):
// an upper bound on best_matching's accuracy.
double majority_accuracy(const CountMatrix& counts);

// The lab's grid score. digits[row][column]: the judged digit of the image
// for style `row` and code `column`. A column is correct when at least 7 of
// its images show its majority digit and no other column has that majority
// digit.
struct ColumnScore {
  std::vector<int> majority;      // per column, its most frequent digit
  std::vector<bool> correct;      // per column
  int correct_columns = 0;
  int grade_percent = 0;          // 10 -> 100, 9 -> 90, >= 7 -> 80, >= 5 -> 60, else 0
};
ColumnScore column_score(const std::vector<std::vector<int>>& digits);

// Per code, the fraction of its samples judged as the code's majority digit.
struct Purity {
  std::vector<double> per_code;
  double mean = 0, min = 0;
  bool distinct_digits = false;  // the codes' majority digits are all different
};
Purity purity(const CountMatrix& counts);

// ---- the GAN family's scores (apps/dcgan, apps/cgan, apps/acgan) -------------

// An unconditional generator's samples as the judge reads them (DCGAN):
// the share read with confidence >= threshold, and each digit's share of
// all samples (coverage: a model that draws only some digits scores low).
struct Coverage {
  double confident_share = 0;
  std::vector<double> digit_share;  // [k], sums to 1
  double min_share = 0, max_share = 0;
};
// digits[i] in [0, k) and confidence[i] of sample i; Error when the sizes
// differ, there are no samples or a digit is out of range.
Coverage coverage(const std::vector<int64_t>& digits, const std::vector<double>& confidence, double threshold, int k);

// A conditional generator's samples (cGAN, AC-GAN): per requested label,
// the fraction of its samples the judge reads as that label; the overall
// fraction, and the worst class.
struct LabelAccuracy {
  std::vector<double> per_class;  // [k]
  double overall = 0, min = 0;
};
// Error when the sizes differ, a value is out of range, or a class has no
// samples.
LabelAccuracy label_accuracy(const std::vector<int64_t>& labels, const std::vector<int64_t>& digits, int k);

}  // namespace dl
