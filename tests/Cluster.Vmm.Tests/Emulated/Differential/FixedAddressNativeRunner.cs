using System.Runtime.InteropServices;
using Iced.Intel;
using Cluster.Vmm.Tests.TestUtils;
using static Iced.Intel.AssemblerRegisters;

namespace Cluster.Vmm.Tests.Emulated.Differential;

/// <summary>
/// Runs code snippets on the host CPU at a fixed low address that the emulated test machine also
/// has as RAM, so that a snippet and its data sit at the same addresses on both sides: RIP-relative,
/// absolute and register-based memory operands, and every register, compare one to one.
/// Two pages: code (a prologue that loads 15 GPRs and RFLAGS from a state array, the snippet at
/// <see cref="SnippetAddress"/>, an epilogue that stores them back) and data.
/// </summary>
internal sealed unsafe partial class FixedAddressNativeRunner : IDisposable
{
    private const int PROT_RWX = 7, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_FIXED_NOREPLACE = 0x100000;
    private const int ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
    public const int PageSize = 4096;
    /// <summary>Offset of the snippet in the code page (the prologue is padded up to it).</summary>
    public const int SnippetOffset = 0x80;
    /// <summary>State layout: [0..15] GPRs in encoding order (RSP's slot unused), [16] RFLAGS.</summary>
    public const int StateWords = 17;

    // SAFETY: maps two anonymous private pages at a hinted fixed address without replacing anything
    // (MAP_FIXED_NOREPLACE); the caller checks that the result is that address and unmaps otherwise.
    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, long offset);

    // SAFETY: unmaps only the two pages this class mapped, once.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(IntPtr addr, nuint length);

    // SAFETY: ARCH_GET_FS writes one 64-bit word to the pointer passed, a local of the caller.
    [LibraryImport("libc", SetLastError = true)]
    private static partial int arch_prctl(int code, ulong* addr);

    private readonly byte[] _epilogue;
    private byte[] _loaded = [];

    private FixedAddressNativeRunner(ulong address)
    {
        Base = address;
        var prologue = EmuAsm.Assemble(64, address, a =>
        {
            a.push(rbx); a.push(rbp); a.push(r12); a.push(r13); a.push(r14); a.push(r15);
            a.push(rdi);
            a.push(__qword_ptr[rdi + 128]);
            a.popfq();
            foreach (var (r, i) in Gprs()) if (i != 7) a.mov(r, __qword_ptr[rdi + i * 8]);
            a.mov(rdi, __qword_ptr[rdi + 56]);
        });
        if (prologue.Length > SnippetOffset) throw new InvalidOperationException("prologue longer than the snippet offset");
        _epilogue = EmuAsm.Assemble(64, 0, a =>
        {
            a.xchg(__qword_ptr[rsp], rdi);
            foreach (var (r, i) in Gprs()) if (i != 7) a.mov(__qword_ptr[rdi + i * 8], r);
            a.pushfq();
            a.pop(__qword_ptr[rdi + 128]);
            a.pop(rax);
            a.mov(__qword_ptr[rdi + 56], rax);
            // The snippet may have set DF (the ABI wants it clear on return).
            a.cld();
            a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbp); a.pop(rbx);
            a.ret();
        });
        // SAFETY: the mapping is ours, RWX, PageSize * 2 bytes; the prologue and the NOP padding fit before SnippetOffset.
        var code = new Span<byte>((void*)address, PageSize);
        code.Fill(0x90);
        prologue.CopyTo(code);
    }

    /// <summary>The code page's address (data page: <see cref="DataPage"/>).</summary>
    public ulong Base { get; }

    public ulong SnippetAddress => Base + SnippetOffset;

    public ulong DataPage => Base + PageSize;

    /// <summary>Maps the two pages at the first free candidate address below 14 MiB, or returns null (and why) when none is free.</summary>
    public static FixedAddressNativeRunner? TryCreate(IEnumerable<ulong> candidates, out string why)
    {
        foreach (var want in candidates)
        {
            var got = mmap((IntPtr)(long)want, PageSize * 2, PROT_RWX, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (got == new IntPtr(-1)) continue;
            if ((ulong)got == want)
            {
                why = "";
                return new FixedAddressNativeRunner(want);
            }
            // An older kernel took the address as a hint only.
            munmap(got, PageSize * 2);
        }
        why = "no candidate address was free in this process";
        return null;
    }

    /// <summary>This thread's FS base (glibc's thread pointer), so that the emulator can use the same one.</summary>
    public static ulong FsBase() => Get(ARCH_GET_FS);

    /// <summary>This thread's GS base (0 unless something set it).</summary>
    public static ulong GsBase() => Get(ARCH_GET_GS);

    private static ulong Get(int code)
    {
        ulong v;
        // SAFETY: v is a local; arch_prctl writes 8 bytes to it.
        if (arch_prctl(code, &v) != 0) throw new InvalidOperationException($"arch_prctl failed: {Marshal.GetLastPInvokeError()}");
        return v;
    }

    /// <summary>
    /// Runs <paramref name="snippet"/> (encoded for <see cref="SnippetAddress"/>) with the registers
    /// and flags of <paramref name="state"/>, which receives them back; <paramref name="data"/> is copied to
    /// <paramref name="dataAddress"/> before and back after. The snippet must leave RSP balanced and
    /// touch no memory but the stack below RSP and the data page.
    /// </summary>
    public void Run(byte[] snippet, ulong[] state, ulong dataAddress, Span<byte> data)
    {
        if (state.Length != StateWords) throw new ArgumentException("state must hold 17 words", nameof(state));
        if (dataAddress < DataPage || dataAddress + (ulong)data.Length > DataPage + PageSize) throw new ArgumentOutOfRangeException(nameof(dataAddress));
        if (!ReferenceEquals(snippet, _loaded))
        {
            if (SnippetOffset + snippet.Length + _epilogue.Length > PageSize) throw new ArgumentException("snippet too long", nameof(snippet));
            // SAFETY: the code page is ours and the snippet and epilogue fit in it (checked above).
            var code = new Span<byte>((void*)SnippetAddress, PageSize - SnippetOffset);
            snippet.CopyTo(code);
            _epilogue.CopyTo(code[snippet.Length..]);
            _loaded = snippet;
        }
        // SAFETY: the data range lies in our data page (checked above).
        var page = new Span<byte>((void*)dataAddress, data.Length);
        data.CopyTo(page);
        fixed (ulong* s = state)
        {
            // SAFETY: the code follows the SysV ABI: it takes the state pointer in RDI, saves and restores
            // every callee-saved register, leaves RSP balanced and DF clear, and returns; the generated
            // snippets fault on nothing (their memory operands point into the data page, divisions that
            // would raise #DE are never run, no privileged instruction is generated).
            var fn = (delegate* unmanaged<ulong*, void>)Base;
            fn(s);
        }
        page.CopyTo(data);
    }

    private static IEnumerable<(AssemblerRegister64, int)> Gprs()
    {
        AssemblerRegister64[] regs = [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15];
        for (int i = 0; i < 16; i++) if (i != 4) yield return (regs[i], i);
    }

    public void Dispose()
    {
        // SAFETY: unmapping the two pages mapped in TryCreate.
        munmap((IntPtr)(long)Base, PageSize * 2);
    }
}
