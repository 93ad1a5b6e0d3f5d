/* Prints app_activation(x) for a few x as 32-bit hex patterns (exact). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

float app_activation(float x);

int main(void)
{
    static const float xs[] = {-3.0f, -0.75f, 0.0f, 0.3125f, 2.5f};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        float y = app_activation(xs[i]);
        uint32_t bits;
        memcpy(&bits, &y, sizeof bits);
        printf("%08lx\n", (unsigned long)bits);
    }
    return 0;
}
