namespace Cluster.Vmm.Machine;

/// <summary>What a machine boots.</summary>
public abstract record GuestImage;

/// <summary>A static x86-64 ELF executable, entered in 64-bit mode (see Loaders/GuestLayout.cs).</summary>
public sealed record ElfGuestImage(string Path) : GuestImage;

/// <summary>A flat binary loaded at <paramref name="LoadAddress"/> and entered there in 64-bit mode.</summary>
public sealed record FlatGuestImage(string Path, ulong LoadAddress) : GuestImage;

/// <summary>One of the test guests of guests/ by name, resolved through <see cref="Guests.BuiltInGuests"/>.</summary>
public sealed record BuiltInGuestImage(string Name) : GuestImage;

/// <summary>A Linux bzImage booted directly (Linux boot protocol), with an optional initrd.</summary>
public sealed record LinuxGuestImage(string KernelPath, string? InitrdPath, string CommandLine) : GuestImage;
