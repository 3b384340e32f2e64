# Where the bench scripts find the data sets (sourced, not run): the shared copies next to the
# repository, Debian's Fashion-MNIST package, or the directories the environment names.
SHARED=${SHARED_DATASETS:-../shared/datasets}
MNIST=${MNIST_DIR:-$SHARED/mnist}
FASHION=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
IMDB=${IMDB_ARCHIVE:-$SHARED/aclImdb_v1_labeled.tar.gz}
UEA=${UEA_DIR:-$SHARED/uea}
TRAIN=.build/release/rnn-train
INFER=.build/release/rnn-infer
