// infogan.h — the InfoGAN of the lab spec (docs/lab.md):
// configuration and presets, the training step, checkpoints, and the four
// commands of apps/infogan (train, eval, sample, traverse), which parses
// flags into the option structs below and calls these functions.
//
// One iteration (docs/lab.md, "The training step"):
//   D step:    L_D = BCE(D(x), 1) + BCE(D(G(z, c)).detached, 0)      -> D trunk + D head
//              (--r1: + r1_weight * R1 on x, penalties.h; not the spec)
//              (--info-real: - info_real * H(mean_x Q(c | x)) over the real
//              batch, so that the trunk spreads real digits over all ten
//              codes; not the spec)
//   then, with --ema (not the spec), the moving average of G's weights
//   that grids, eval and sample read moves towards G (weight_average.h).
//   G+Q step:  L_G = BCE(D(G(z, c)), 1)   (non-saturating; or -BCE(., 0))
//              L_I = lambda * (CE(Q_logits, c) + lambda_cont * NLL(c_cont | Q_mean, Q_log_std))
//              L_G + L_I                                              -> G + Q head
// The trunk receives gradients in the G+Q step (they reach G through it)
// but only the D optimizer updates it. With info_d > 0 (not the spec) the D
// step also minimises info_d * L_I on the detached fakes, so the info loss
// shapes the trunk Q reads from, as in the InfoGAN paper's code, where the
// mutual-information term is in both players' losses.
//
// apps/common/infogan.cpp holds the config and the model, infogan_eval.cpp
// the eval, sample and traverse commands.
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

// Every hyper-parameter of the spec; a flag each (table()).
struct InfoGanConfig : TabledConfig<InfoGanConfig> {
  std::string preset = "lab";
  int64_t epochs = 50;
  int64_t batch = 64;
  int64_t noise = 54;
  std::string noise_dist = "normal";  // z ~ N(0, 1), or "uniform": U(-1, 1); in the JSON only when not normal
  int64_t cont = 0;            // continuous codes ~ U(-1, 1)
  double lambda_info = 0.25;   // weight of the info loss
  double lambda_cont = 0.1;    // weight of the continuous codes' NLL inside it
  double info_d = 0;           // weight of the info loss in the D step (0: the spec)
  double r1 = 0;               // R1's gamma (penalties.h; 0: off, the spec)
  int64_t r1_every = 1;        // R1 every N iterations, at N times the weight
  double info_real = 0;        // weight of the real batch's code entropy in the D step (0: the spec)
  double ema = 0;              // decay of the moving average of G's weights (0: none, the spec)
  // Both rates over the run: "none" or "cosine" (lr_decay_choices,
  // training.h); in the JSON only when not "none".
  std::string lr_decay = "none";
  double lr_g = 1e-3;          // generator and Q head
  double lr_d = 2e-4;          // discriminator trunk and D head
  double beta1 = 0.5, beta2 = 0.999;
  std::string g_loss = "nonsaturating";  // or "saturating": minimise log(1 - D(G(z)))
  int64_t seed = 1;
  int64_t train_limit = 0;     // train on the first N images only (0: all 60,000)
  std::string dataset = "mnist";  // or "fashion" (dataset.h); in the JSON only when not mnist

  LatentShape shape() const { return {noise, 10, cont, noise_dist == "uniform"}; }
  std::vector<ConfigEntry> table();
};

// H(mean_i softmax(logits_i)): the entropy of the batch's mean code
// distribution, for logits [N, K]; log K when the batch uses every code
// equally, 0 when it uses one. Maximised (--info-real) it asks Q to read
// all K codes in real digits, as information-maximising clustering does;
// each image's own prediction stays free to be confident.
Tensor batch_code_entropy(const Tensor& logits);

// The presets: "lab" is the spec, exactly; "best" is the default of `train`
// and differs from "lab" only where recorded experiments (docs/experiments.md)
// showed an improvement over seeds: today info_d = 1 and lambda_info = 1.
// Another name is a UsageError naming --preset.
InfoGanConfig infogan_preset(const std::string& name);

// The networks, their optimizers and the latent-code generator: the whole
// training state except the position in the data.
class InfoGan : public TrainedModel {
 public:
  using Config = InfoGanConfig;
  static constexpr const char* kFormat = "infogan-1";
  InfoGan(const InfoGanConfig& config, Device device);
  // A resumed run's config: the checkpoint's.
  static InfoGanConfig resumed_config(const SafetensorsFile& file, const InfoGanConfig& requested);

  // A batch of generator inputs: noise (N(0, 1) or U(-1, 1)), a uniformly drawn
  // categorical code, continuous codes ~ U(-1, 1), drawn from `rng`.
  struct Latent {
    Tensor input;  // [n, noise + 10 + cont, 1, 1] on the device
    Tensor code;   // int64 [n]
    Tensor cont;   // [n, cont]
  };
  Latent sample_latent(int64_t n, Generator& rng) const;
  // The generator input for given codes (noise and cont drawn from rng).
  Tensor input_for(const Tensor& noise, const Tensor& code, const Tensor& cont) const;

  // One training iteration on a batch of real images; returns the values
  // of log_columns() after epoch and iteration, {loss_D, loss_G, loss_Info,
  // D(x), D(G(z))}, as one float32 tensor [5] on the device: nothing in the
  // step waits for the GPU, and the caller reads all five with one copy.
  // On a GPU with use_cuda_graph (--cuda-graph on), replayed from a CUDA
  // graph (CapturedStep) with the same numbers.
  Tensor train_step(const Batch& batch, const StepClock& clock) override;
  std::vector<std::string> log_columns() const override;
  // The epoch's grid, and the charts of the losses and D's outputs.
  void end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) override;
  std::string summary() const override { return ", preset " + config.preset; }

  // The spec's 10x10 grid for `seed` from the generator in eval mode:
  // [100, 1, 28, 28], row = style, column = code.
  Tensor grid(uint64_t seed);

  // The generator that grids, eval and sample read: the moving average
  // with --ema, else G.
  SpecGenerator& sampler() const { return G_ema ? *G_ema : *G; }

  // Checkpoint: G., G_ema. (with --ema), D., optim.d., optim.gq. tensors;
  // config, position and RNG state (and with --ema the update count) as
  // metadata.
  CheckpointParts checkpoint_parts() const override;
  SafetensorsMetadata checkpoint_metadata(const TrainPosition& pos) const override;
  void restore_metadata(const SafetensorsFile& file) override;

  InfoGanConfig config;
  Device device;
  std::shared_ptr<SpecGenerator> G, G_ema;  // G_ema: null without --ema
  std::shared_ptr<InfoGanDiscriminator> D;
  std::unique_ptr<Adam> opt_d, opt_gq;
  Generator rng;  // latent codes for training
  int64_t ema_updates = 0;

 private:
  // The step itself on device tensors: real images, the latent input, code
  // and continuous codes, and with --ema the average's decay and 1 - decay
  // as 0-dim tensors (CapturedStep's inputs); with_r1: D's loss adds R1.
  Tensor step_on(const std::vector<Tensor>& inputs, bool with_r1);
  // CE(Q_logits, code) + lambda_cont * NLL(cont | Q_mean, Q_log_std), before
  // the weight lambda.
  Tensor info_loss(const InfoGanDiscriminator::Heads& heads, const Latent& latent) const;
  // Without and with R1, each replayed from its own graph.
  CapturedStep captured_step_{[this](const std::vector<Tensor>& in) { return step_on(in, false); }};
  CapturedStep captured_r1_step_{[this](const std::vector<Tensor>& in) { return step_on(in, true); }};
};

// The checkpoint's config: its metadata's, or the defaults (with `cont`
// codes) when it has none, so weights exported from PyTorch load.
InfoGanConfig checkpoint_config(const SafetensorsFile& file, int64_t cont);
// G and D of a checkpoint, in eval mode on `device` (shapes checked).
std::unique_ptr<InfoGan> load_infogan(const SafetensorsFile& file, int64_t cont, Device device);

// ---- eval, sample and traverse (infogan_eval.cpp) --------------------------------

struct InfoGanEvalOptions : CheckpointSource {
  // judge: find_judge's flag; data_dir "": resolve_data_dir's default for
  // the checkpoint's dataset.
  std::string judge, out, data_dir;
  int64_t cont = 0;
  int64_t purity_samples = 1000;
};
struct InfoGanReport {
  CountMatrix confusion;  // [code][digit] on the MNIST test set
  Matching matching;
  double majority_accuracy = 0;
  bool judged = false;
  ColumnScore columns;
  Purity purity;
  std::vector<std::vector<int>> grid_digits;  // [style][code], judged
  std::string grid_path;
  std::string dataset = "mnist";  // the checkpoint's
  std::string divergence;         // the training loop's warning, from the checkpoint ("": none)
  JsonValue json() const;
};
InfoGanReport evaluate_infogan(const InfoGanEvalOptions& options);
void print_report(const InfoGanReport& report);

// Writes N samples per code as IDX files PREFIX-images-idx3-ubyte and
// PREFIX-labels-idx1-ubyte (label = code index).
void sample_infogan(const std::string& checkpoint, int64_t cont, int64_t per_code, const std::string& prefix,
                    uint64_t seed, Device device);
// One image per continuous code k: rows = (noise r, code r), columns = code
// k from -2 to 2; returns the paths written.
std::vector<std::string> traverse_infogan(const std::string& checkpoint, int64_t cont, const std::string& out,
                                          uint64_t seed, Device device);

}  // namespace dl
