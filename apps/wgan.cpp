// wgan.cpp — the command line of apps/wgan: a WGAN-GP (Gulrajani et al.
// 2017) with the spec's generator and a critic made from the spec's
// discriminator (LayerNorm for BatchNorm, no Sigmoid), trained with a
// gradient penalty on interpolates, 5 critic steps per generator step.
// eval: as dcgan's, over 10,000 samples the share the MNIST judge reads with
// confidence >= 0.9 and the share of each digit (bar: >= 0.88, every digit
// between 5% and 15%). train also charts the Wasserstein estimate
// (wasserstein.svg).
// The flags and the work are shared with the other GANs of the family in
// apps/common/gan_family.h (docs/apps.md).
//
//   ./apps/wgan train   [--epochs N] [--batch B] [--gp-lambda L] [--critic-steps K] [--resume] ...
//   ./apps/wgan eval    --checkpoint PATH [--judge PATH] [--samples N] [--seed S] [--out DIR]
//   ./apps/wgan sample  --checkpoint PATH [--out PNG] [--idx PREFIX --samples N]
#include "common/gan_family.h"

int main(int argc, char** argv) { return dl::gan_app_main("wgan", argc, argv); }
