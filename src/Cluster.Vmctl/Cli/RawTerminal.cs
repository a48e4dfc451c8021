using System.Runtime.InteropServices;

namespace Cluster.Vmctl.Cli;

/// <summary>
/// The terminal on stdin in raw mode (libc <c>cfmakeraw</c>: no echo, no line editing, no signals from keys, no output
/// processing) until disposed, which puts back the settings it found. Set with <c>tcsetattr</c> directly rather than
/// by running <c>stty</c>: .NET puts its own terminal settings back whenever a child process that shares the terminal
/// exits, which undid <c>stty raw</c>.
/// </summary>
internal sealed partial class RawTerminal : IDisposable
{
    private const int Stdin = 0;
    private const int TcsaNow = 0;

    /// <summary>Larger than any libc's struct termios (60 bytes in glibc on x86-64 and arm64): handled as opaque bytes.</summary>
    private const int TermiosBytes = 256;

    private readonly byte[] _saved;

    private RawTerminal(byte[] saved) => _saved = saved;

    /// <summary>Puts the terminal in raw mode; null when stdin is no terminal or the settings cannot be read.</summary>
    public static RawTerminal? Enter()
    {
        var saved = new byte[TermiosBytes];
        if (TcGetAttr(Stdin, saved) != 0)
            return null;
        var raw = (byte[])saved.Clone();
        CfMakeRaw(raw);
        return TcSetAttr(Stdin, TcsaNow, raw) == 0 ? new RawTerminal(saved) : null;
    }

    public void Dispose() => _ = TcSetAttr(Stdin, TcsaNow, _saved);

    // SAFETY: each call gets a pinned byte array of TermiosBytes, larger than the struct termios libc reads or writes,
    // and the fd 0, which libc checks itself (ENOTTY when it is no terminal).
    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int optionalActions, byte[] termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw([In, Out] byte[] termios);
}
