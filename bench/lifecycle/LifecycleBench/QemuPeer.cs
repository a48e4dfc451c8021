using System.Diagnostics;

namespace LifecycleBench;

/// <summary>
/// The peer: QEMU (TCG) from process start to the first serial byte of a 64 KiB flat BIOS whose reset
/// vector writes 'A' to COM1 and halts. Null when qemu-system-x86_64 is not installed.
/// </summary>
public static class QemuPeer
{
    public static List<double>? FirstByteMs(int samples)
    {
        var image = Path.Combine(Path.GetTempPath(), $"lifecycle-peer-{Environment.ProcessId}.bin");
        var bios = Enumerable.Repeat((byte)0xf4, 65536).ToArray();
        byte[] resetVector = [0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0xf4, 0xeb, 0xfd]; // mov dx,0x3f8; mov al,'A'; out dx,al; hlt; jmp $-1
        resetVector.CopyTo(bios, 0xfff0);
        File.WriteAllBytes(image, bios);
        var times = new List<double>();
        try
        {
            for (var i = 0; i < samples; i++)
            {
                var info = new ProcessStartInfo("qemu-system-x86_64")
                {
                    RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                };
                foreach (var a in new[] { "-accel", "tcg", "-bios", image, "-display", "none", "-serial", "stdio", "-monitor", "none", "-nodefaults", "-m", "16" })
                    info.ArgumentList.Add(a);
                var clock = Stopwatch.StartNew();
                using var qemu = Process.Start(info);
                if (qemu is null)
                    return null;
                var first = qemu.StandardOutput.BaseStream.ReadByte();
                var ms = clock.Elapsed.TotalMilliseconds;
                qemu.Kill();
                qemu.WaitForExit();
                if (first != 'A')
                    throw new InvalidOperationException($"QEMU peer wrote {first} instead of 'A'");
                times.Add(ms);
            }
            return times;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        finally
        {
            File.Delete(image);
        }
    }
}
