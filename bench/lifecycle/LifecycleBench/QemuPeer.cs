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

    /// <summary>
    /// <paramref name="count"/> QEMU (TCG) processes at once, each booting <paramref name="kernel"/> (PVH) with <paramref name="append"/>
    /// and <paramref name="memoryMib"/> MiB, measured once each has printed its first serial bytes and settled for a second.
    /// Null when QEMU is not installed.
    /// </summary>
    public static List<ProcessMemory>? Memory(int count, string kernel, string append, int memoryMib)
    {
        var running = new List<Process>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var info = new ProcessStartInfo("qemu-system-x86_64")
                {
                    RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                };
                foreach (var a in new[] { "-accel", "tcg", "-M", "q35", "-m", memoryMib.ToString(System.Globalization.CultureInfo.InvariantCulture),
                             "-display", "none", "-nodefaults", "-no-user-config", "-serial", "stdio", "-monitor", "none",
                             "-kernel", kernel, "-append", append })
                    info.ArgumentList.Add(a);
                var qemu = Process.Start(info);
                if (qemu is null)
                    return null;
                running.Add(qemu);
            }
            foreach (var qemu in running)
            {
                if (qemu.StandardOutput.BaseStream.ReadByte() < 0)
                    throw new InvalidOperationException($"QEMU ended before its guest wrote: {qemu.StandardError.ReadToEnd()}");
            }
            Thread.Sleep(1000);
            return running.Select(q => ProcessMemory.Read(q.Id, memoryMib * 1024L)).OfType<ProcessMemory>().ToList();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        finally
        {
            foreach (var qemu in running)
            {
                try
                {
                    qemu.Kill();
                    qemu.WaitForExit();
                }
                catch (InvalidOperationException)
                {
                }
                qemu.Dispose();
            }
        }
    }
}
