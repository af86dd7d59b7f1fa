// dcgan.cpp — the command line of apps/dcgan: an unconditional GAN with the
// spec's generator and discriminator (no Q head). eval: over 10,000 samples,
// the share the MNIST judge reads with confidence >= 0.9, and the share of
// each digit (bar: >= 0.90, every digit between 5% and 15%).
// The flags and the work are shared with the other GANs of the family in
// apps/common/gan_family.h (docs/apps.md).
//
//   ./apps/dcgan train   [--epochs N] [--batch B] [--ema D] [--resume] ...
//   ./apps/dcgan eval    --checkpoint PATH [--judge PATH] [--samples N] [--seed S] [--out DIR]
//   ./apps/dcgan sample  --checkpoint PATH [--out PNG] [--idx PREFIX --samples N]
#include "common/gan_family.h"

int main(int argc, char** argv) { return dl::gan_app_main("dcgan", argc, argv); }
