#include <cblas.h>
/* OpenBLAS extension: the number of threads its own pool may use. Our runtime
   splits batches across its own threads and sets this to 1 to avoid
   oversubscription (declared in OpenBLAS's cblas.h). */
