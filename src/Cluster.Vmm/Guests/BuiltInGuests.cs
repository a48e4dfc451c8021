namespace Cluster.Vmm.Guests;

/// <summary>
/// The test guests built from guests/ (hello, counter, abcount, dirtier, compute, abpages, timer, smp,
/// triple, blk), found as guests/NAME.elf next to the running program, and their native builds as
/// guests/host/NAME.
/// </summary>
public static class BuiltInGuests
{
    /// <summary>The folder that holds the guest images.</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "guests");

    /// <summary>The names of the guests present, sorted.</summary>
    public static IReadOnlyList<string> Names =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.GetFiles(Directory, "*.elf").Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>The path of guest <paramref name="name"/>'s ELF image.</summary>
    /// <exception cref="VmmException">no such guest (the message lists those that exist).</exception>
    public static string Find(string name)
    {
        if (string.IsNullOrEmpty(name) || name.IndexOfAny(['/', '\\']) >= 0 || name.StartsWith('.'))
            throw new VmmException($"'{name}' is not a built-in guest name", "builtin-guest");
        var path = Path.Combine(Directory, name + ".elf");
        if (!File.Exists(path))
            throw new VmmException($"no built-in guest '{name}' in {Directory} (available: {string.Join(", ", Names)})", "builtin-guest");
        return path;
    }

    /// <summary>The path of the native (host) build of guest <paramref name="name"/>, or null where it has none.</summary>
    public static string? FindNative(string name)
    {
        var path = Path.Combine(Directory, "host", name);
        return File.Exists(path) ? path : null;
    }
}
