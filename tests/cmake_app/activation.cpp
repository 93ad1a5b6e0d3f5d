// The application's C++ translation unit: float arguments and results cross
// the C/C++ boundary here, so an object built with another float ABI than the
// C code fails to link.
#include "gru.h"

extern "C" float app_activation(float x);

float app_activation(float x)
{
    return gru_tanh(x) + gru_sigmoid(x);
}
