// gan_family.h — the GAN family of apps/dcgan, apps/cgan, apps/acgan and
// apps/wgan: one config, one model class, one checkpoint format, and the
// train / eval / sample commands. The variants differ only in what
// GanTraits lists — whether G gets the label, whether D gets it as an
// image plane, whether D has a class head, whether D is a Wasserstein
// critic — and in the losses and scores that follow from that. Networks:
// the spec's (spec_networks.h).
//
// One iteration of dcgan, cgan and acgan (y: real labels; y~: labels drawn
// uniformly for the fakes):
//   D step:  L_D = BCE(D(x | y), real_label) + BCE(D(G(z | y~)).detached | y~), 0)
//            acgan: + lambda_class * (CE(C(x), y) + CE(C(G(z | y~)), y~))   -> D (all of it)
//            --r1:  + r1_weight * R1 on x (penalties.h)
//   G step:  L_G = BCE(D(G(z | y~) | y~), 1)   (non-saturating; or -BCE(., 0))
//            acgan: + lambda_class * CE(C(G(z | y~)), y~)                   -> G
//   then the EMA generator (--ema) moves towards G.
// dcgan ignores the labels; "| y" means "given y" only where the variant
// feeds it (cgan: to G and D; acgan: to G).
//
// One iteration of wgan (WGAN-GP, Gulrajani et al. 2017; D is the critic,
// its score unbounded; e ~ U[0, 1] per sample):
//   critic step:  W = mean D(x) - mean D(G(z).detached)       (the Wasserstein estimate)
//                 L_D = -W + gp_lambda * GP(x^ = e x + (1 - e) G(z))       -> D
//   and every critic_steps-th iteration a G step on fresh z:
//                 L_G = -mean D(G(z'))                                     -> G
//   then the EMA generator moves towards G.
//
// gan_family.cpp holds the config and the model, gan_eval.cpp the eval and
// sample commands, gan_cli.cpp the command line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/app_shell.h"
#include "common/captured_step.h"
#include "common/config_table.h"
#include "common/spec_networks.h"
#include "common/metrics.h"
#include "common/training.h"
#include "data/json.h"
#include "data/safetensors.h"
#include "optim/optimizer.h"

namespace dl {

// Where the variants differ.
struct GanTraits {
  bool label_in_g = false;   // G's input is noise + the one-hot label (cgan, acgan)
  bool label_plane = false;  // D sees the label as a second image channel (cgan)
  bool class_head = false;   // D predicts the class; both losses add its cross-entropy (acgan)
  bool critic = false;       // D is a WGAN-GP critic, G steps every critic_steps iterations (wgan)
};
// "dcgan", "cgan", "acgan" or "wgan"; Error otherwise.
GanTraits gan_traits(const std::string& variant);

// Every hyper-parameter; a flag each (table()).
struct GanConfig : TabledConfig<GanConfig> {
  std::string variant = "dcgan";
  std::string dataset = "mnist";  // or "fashion" (dataset.h); in the JSON only when not mnist
  int64_t epochs = 10;
  int64_t batch = 64;
  int64_t noise = 64;          // z ~ N(0, 1); 54 for cgan/acgan, so that G's input is the spec's 64
  double lr_g = 1e-3;          // the spec's; dcgan's default is 2e-3, wgan's 1e-4 (gan_defaults)
  double lr_d = 2e-4;
  // Both rates over the run: "none" or "cosine" (lr_decay_choices,
  // training.h); in the JSON only when not "none".
  std::string lr_decay = "none";
  double beta1 = 0.5, beta2 = 0.999;
  std::string g_loss = "nonsaturating";  // or "saturating"; not wgan
  double real_label = 1.0;     // D's target for real images (< 1: one-sided label smoothing); not wgan
  double lambda_class = 1.0;   // acgan: weight of the class cross-entropy
  double r1 = 0;               // R1's gamma (penalties.h; 0: off); not wgan
  int64_t r1_every = 1;        // R1 every N iterations, at N times the weight
  double gp_lambda = 10;       // wgan: weight of the gradient penalty
  int64_t critic_steps = 5;    // wgan: iterations (critic steps) per G step
  // Decay of the exponential moving average of G's weights that samples and
  // eval use (0: none, use G itself). The decay ramps up as
  // min(ema, (1 + t) / (10 + t)) over the t-th update, so early grids are
  // not dominated by the initial weights.
  double ema = 0.999;
  int64_t seed = 1;
  int64_t train_limit = 0;     // train on the first N images only (0: all 60,000)

  GanTraits traits() const { return gan_traits(variant); }
  // G's input size: noise (+ 10 with the label).
  int64_t generator_input() const { return noise + (traits().label_in_g ? GanDiscriminator::kClasses : 0); }
  // The variant is fixed by the app (no flag); --lambda-class is acgan's
  // only; wgan has --gp-lambda and --critic-steps instead of --g-loss,
  // --real-label and --r1 (and its JSON only the keys it reads).
  std::vector<ConfigEntry> table();
  // Missing keys keep the defaults of the config's variant (gan_defaults).
  static GanConfig from_json(const std::string& text, const std::string& source);
};

// The defaults of a variant (the spec's hyper-parameters, noise 64 or 54;
// wgan: the WGAN-GP paper's).
GanConfig gan_defaults(const std::string& variant);

// The networks, their optimizers, the EMA generator and the latent-code
// generator: the whole training state except the position in the data.
class GanModel : public TrainedModel {
 public:
  using Config = GanConfig;
  static constexpr const char* kFormat = "gan-family-1";
  GanModel(const GanConfig& config, Device device);
  // A resumed run's config: the checkpoint's, which must be of the
  // requested variant.
  static GanConfig resumed_config(const SafetensorsFile& file, const GanConfig& requested);

  // A batch of generator inputs drawn from `rng`: noise ~ N(0, 1) and a
  // uniformly drawn label (drawn for every variant, used where it is fed).
  struct Latent {
    Tensor input;   // [n, generator_input, 1, 1] on the device
    Tensor labels;  // int64 [n] on the device
    Tensor one_hot; // float32 [n, 10] on the device
  };
  Latent sample_latent(int64_t n, Generator& rng) const;
  // G's input for given noise [n, noise] and int64 labels [n] (CPU).
  Tensor generator_input(const Tensor& noise, const Tensor& labels) const;

  // The log's columns after epoch and iteration: loss_D, loss_G, D(x),
  // D(G(z)); acgan adds loss_C (D's class cross-entropy on real + fake) and
  // the class accuracy on the real batch and on the fakes in the G step.
  // wgan: loss_D, W, GP (unweighted), score(x), score(G(z)) — the mean
  // critic scores of the critic step, of which the G loss is the second
  // negated (so it is not logged apart).
  std::vector<std::string> log_columns() const override;

  // One iteration on a batch of real images [n, 1, 28, 28] in [0, 1] and
  // their int64 labels [n], at `clock` (its total iterations span
  // --lr-decay); returns the values of log_columns() as one
  // float32 tensor on the device (nothing here waits for the GPU). With
  // use_cuda_graph on a GPU it is replayed from a CUDA graph (CapturedStep).
  Tensor train_step(const Batch& batch, const StepClock& clock) override;
  // The epoch's grid, and the charts of the losses, D's outputs (and the
  // class head's accuracy); wgan: of the losses, W and the scores.
  void end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) override;

  // The generator that samples come from: the EMA one, or G without --ema.
  SpecGenerator& sampler() { return G_ema ? *G_ema : *G; }
  // Images for noise [n, noise] and labels [n] (CPU), from sampler() in
  // eval mode without autograd, in batches of 500; on the CPU.
  Tensor generate(const Tensor& noise, const Tensor& labels);
  // Re-estimates the sampler's BatchNorm running statistics on its own
  // activations: `batches` batches of 500 generator inputs from a fixed
  // stream, forwarded in training mode without autograd (each moves the
  // statistics by the layers' momentum, 0.1, so the copy they start from
  // keeps a weight of 0.9^batches). The EMA generator's statistics are
  // copies of G's, which belong to G's weights rather than to their
  // average; G's own are an average over its last few hundred training
  // batches, taken while its weights moved.
  void measure_batch_norm_stats(int64_t batches = 50);
  // The 10x10 grid for `seed`, [100, 1, 28, 28]: with labels, row r is
  // noise r and column c is label c (one digit per column); dcgan draws 100
  // noises.
  Tensor grid(uint64_t seed);

  // Checkpoint: G., G_ema. (with --ema), D., optim.d., optim.g. tensors;
  // variant, config, position, RNG state and EMA update count as metadata.
  CheckpointParts checkpoint_parts() const override;
  SafetensorsMetadata checkpoint_metadata(const TrainPosition& pos) const override;
  void restore_metadata(const SafetensorsFile& file) override;

  GanConfig config;
  GanTraits traits;
  Device device;
  std::shared_ptr<SpecGenerator> G, G_ema;  // G_ema: null without --ema
  std::shared_ptr<GanDiscriminator> D;
  std::unique_ptr<Adam> opt_d, opt_g;
  Generator rng;  // latent codes for training
  int64_t ema_updates = 0;

 private:
  // The step on what it reads, all on the device: real images, their
  // labels, the latent input, labels and one-hot, and with --ema its decay
  // and 1 - decay as 0-dim tensors (CapturedStep's inputs); with_r1: D's
  // loss adds R1 at its lazy weight.
  Tensor step_on(const std::vector<Tensor>& inputs, bool with_r1);
  // wgan's iteration: the inputs of critic_step_on, drawn from rng.
  Tensor critic_train_step(const Tensor& real, const StepClock& clock);
  // wgan's step on real images, the latent input and the mixing weights e
  // [n, 1, 1, 1]; with_g_step: then also a G step on a second latent
  // input, followed (--ema) by the EMA's decay and 1 - decay.
  Tensor critic_step_on(const std::vector<Tensor>& inputs, bool with_g_step);
  // The two kinds of iteration, each replayed from its own graph: without
  // and with R1 (dcgan, cgan, acgan), without and with a G step (wgan).
  Tensor step_of_kind(const std::vector<Tensor>& inputs, bool extended) {
    return traits.critic ? critic_step_on(inputs, extended) : step_on(inputs, extended);
  }
  CapturedStep captured_step_{[this](const std::vector<Tensor>& inputs) { return step_of_kind(inputs, false); }};
  CapturedStep captured_extended_step_{
      [this](const std::vector<Tensor>& inputs) { return step_of_kind(inputs, true); }};
};

// A checkpoint's model for `variant`, in eval mode on `device`: its
// metadata's config (Error if it belongs to another variant), or the
// variant's defaults when it has none (weights exported from PyTorch).
std::unique_ptr<GanModel> load_gan(const SafetensorsFile& file, const std::string& variant, Device device);

// ---- eval and sample (gan_eval.cpp) ----------------------------------------------

// The pass/fail bars eval holds each variant to (those of an old issue).
struct GanBar {
  double confidence = 0.9;  // the judge's confidence that makes a sample "confident"
  double confident_share = 0, min_share = 0, max_share = 1;  // dcgan, wgan
  double accuracy = 0, class_accuracy = 0;                   // cgan, acgan
  bool grid_columns = false;  // cgan: all 10 grid columns show their digit
};
GanBar gan_bar(const std::string& variant);

// How eval and sample set the sampler's BatchNorm statistics: "copied"
// (as the checkpoint has them) or "measured" (GanModel::measure_batch_norm_stats).
std::vector<std::string> bn_stats_choices();

struct GanEvalOptions : CheckpointSource {
  // judge: find_judge's flag.
  std::string variant, judge, out;
  std::string bn_stats = "copied";
  int64_t samples = 10000;  // judged samples; with labels, label i % 10 for sample i
};
struct GanReport {
  std::string variant, dataset, grid_path, bn_stats;
  int64_t samples = 0;
  Coverage coverage;            // every variant: confident share and digit shares
  LabelAccuracy accuracy;       // cgan, acgan: judge accuracy per requested label
  LabelAccuracy grid_accuracy;  // cgan, acgan: per column of the grid
  int grid_columns = 0;         // cgan, acgan: columns with >= 7 of 10 judged as their label
  std::vector<std::vector<int>> grid_digits;  // [row][column], judged
  GanBar bar;
  bool judged = false;  // false: no judge, so only the grid (find_judge)
  bool passes = false;
  std::string divergence;  // the training loop's warning, from the checkpoint ("": none)
  JsonValue json() const;
};
GanReport evaluate_gan(const GanEvalOptions& options);
void print_gan_report(const GanReport& report);

// The grid for `seed` as a PNG at `png` (default <run>/eval/sample_seed<S>.png;
// returns the path written) (and, with idx_prefix, `samples`
// images as IDX files PREFIX-images-idx3-ubyte / PREFIX-labels-idx1-ubyte,
// label i % 10 for image i).
struct GanSampleOptions : CheckpointSource {
  std::string variant, png, idx_prefix;
  std::string bn_stats = "copied";
  int64_t samples = 100;
};
std::string sample_gan(const GanSampleOptions& options);

// ---- the command line (gan_cli.cpp) ----------------------------------------------

// The command lines of the four apps (flags only; apps/<variant>.cpp is
// one call to this).
int gan_app_main(const std::string& variant, int argc, char** argv);

}  // namespace dl
