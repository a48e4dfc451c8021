using System.Runtime.InteropServices;
using Iced.Intel;

namespace Cluster.Vmm.Tests.TestUtils;

/// <summary>
/// Runs a code snippet on the host CPU: an RWX page holds a prologue that loads 16 GPRs (all but
/// RSP) and RFLAGS from a state array, the snippet, and an epilogue that stores them back.
/// </summary>
internal static unsafe partial class EmuNative
{
    private const int PROT_RWX = 7, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;
    private const int PageSize = 4096;

    // SAFETY: anonymous private mapping of one page; the result is checked against MAP_FAILED.
    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, long offset);

    // SAFETY: unmaps the page mapped by this class, once.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(IntPtr addr, nuint length);

    /// <summary>State layout: [0..15] GPRs in encoding order (RAX..R15), [16] RFLAGS.</summary>
    public const int StateWords = 17;

    public static void Run(ReadOnlySpan<byte> snippet, ulong[] state)
    {
        if (state.Length != StateWords) throw new ArgumentException("state must hold 17 words", nameof(state));
        var page = mmap(IntPtr.Zero, PageSize, PROT_RWX, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == new IntPtr(-1)) throw new InvalidOperationException($"mmap failed: {Marshal.GetLastPInvokeError()}");
        try
        {
            var code = Build(snippet, (ulong)page);
            if (code.Length > PageSize) throw new ArgumentException("snippet too long", nameof(snippet));
            // SAFETY: the page is ours, RWX and PageSize bytes long; code fits (checked above).
            code.CopyTo(new Span<byte>((void*)page, PageSize));
            fixed (ulong* s = state)
            {
                // SAFETY: the code follows the SysV ABI: it takes the state pointer in RDI, saves and
                // restores every callee-saved register, leaves RSP balanced and DF clear, and returns.
                var fn = (delegate* unmanaged<ulong*, void>)page;
                fn(s);
            }
        }
        finally
        {
            // SAFETY: unmapping the page mapped above.
            munmap(page, PageSize);
        }
    }

    private static byte[] Build(ReadOnlySpan<byte> snippet, ulong address)
    {
        var pre = EmuAsm.Assemble(64, address, a =>
        {
            a.push(AssemblerRegisters.rbx); a.push(AssemblerRegisters.rbp); a.push(AssemblerRegisters.r12);
            a.push(AssemblerRegisters.r13); a.push(AssemblerRegisters.r14); a.push(AssemblerRegisters.r15);
            a.push(AssemblerRegisters.rdi);
            a.push(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 128]);
            a.popfq();
            foreach (var (r, i) in Gprs()) if (i != 7) a.mov(r, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + i * 8]);
            a.mov(AssemblerRegisters.rdi, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 56]);
        });
        var post = EmuAsm.Assemble(64, address, a =>
        {
            a.xchg(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rsp], AssemblerRegisters.rdi);
            foreach (var (r, i) in Gprs()) if (i != 7) a.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + i * 8], r);
            a.pushfq();
            a.pop(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 128]);
            a.pop(AssemblerRegisters.rax);
            a.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 56], AssemblerRegisters.rax);
            a.pop(AssemblerRegisters.r15); a.pop(AssemblerRegisters.r14); a.pop(AssemblerRegisters.r13);
            a.pop(AssemblerRegisters.r12); a.pop(AssemblerRegisters.rbp); a.pop(AssemblerRegisters.rbx);
            a.ret();
        });
        return [.. pre, .. snippet.ToArray(), .. post];
    }

    private static IEnumerable<(AssemblerRegister64, int)> Gprs()
    {
        AssemblerRegister64[] regs =
        [
            AssemblerRegisters.rax, AssemblerRegisters.rcx, AssemblerRegisters.rdx, AssemblerRegisters.rbx,
            AssemblerRegisters.rsp, AssemblerRegisters.rbp, AssemblerRegisters.rsi, AssemblerRegisters.rdi,
            AssemblerRegisters.r8, AssemblerRegisters.r9, AssemblerRegisters.r10, AssemblerRegisters.r11,
            AssemblerRegisters.r12, AssemblerRegisters.r13, AssemblerRegisters.r14, AssemblerRegisters.r15,
        ];
        for (int i = 0; i < 16; i++) if (i != 4) yield return (regs[i], i);
    }
}
