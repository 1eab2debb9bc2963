/* Start-up for the C ABI tests on a Cortex-M4 in qemu-system-arm (mps2-an386): the vector
 * table, the FPU turned on (the library and newlib are built for the hard-float ABI), then
 * newlib's semihosting start-up (_start: stack, .bss, stdio handles, main, exit). A fault exits
 * with status 99 through semihosting instead of hanging. */
#include <stdint.h>
#include <stdlib.h>

extern void _start(void);
extern uint32_t _stack_top;

void reset_handler(void);
void fault_handler(void);

typedef void (*vector)(void);

__attribute__((section(".vectors"), used)) const vector vectors[16] = {
    (vector)(uintptr_t)&_stack_top, /* initial stack pointer */
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0, 0, 0, 0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMonitor */
    0,
    fault_handler, /* PendSV */
    fault_handler, /* SysTick */
};

void reset_handler(void) {
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20; /* CP10 and CP11: full access */
    __asm volatile("dsb\n\tisb" ::: "memory");
    _start();
    for (;;) {
    }
}

void fault_handler(void) { _Exit(99); }
