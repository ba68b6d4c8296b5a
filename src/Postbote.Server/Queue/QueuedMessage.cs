namespace Postbote.Queue;

/// <summary>
/// The scheduler's in-memory view of one queued message: its latest recorded entry, the recipients being attempted
/// now, and what the administrator asked for. <see cref="Gate"/> serialises every change of the entry and its record
/// in the spool, so attempts to two destinations of one message never overwrite each other's outcome.
/// </summary>
internal sealed class QueuedMessage(SpoolEntry entry)
{
    private SpoolEntry _entry = entry;

    /// <summary>Held while the entry is changed and recorded.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>The latest entry (as recorded in the spool, or about to be); read without the gate for listing.</summary>
    public SpoolEntry Entry
    {
        get => Volatile.Read(ref _entry);
        set => Volatile.Write(ref _entry, value);
    }

    /// <summary>Indices of the recipients in an attempt now (changed under <see cref="Gate"/>).</summary>
    public HashSet<int> Attempting { get; } = new();

    /// <summary>Set by hold while an attempt runs: its recipients that come back temporarily failed become held.</summary>
    public bool HoldRequested { get; set; }

    /// <summary>Set by flush and retry: the next dispatch treats every deferred recipient as due.</summary>
    public bool ForceDue { get; set; }

    /// <summary>Set by delete while an attempt runs: the message is retired when the last attempt ends, without
    /// notices.</summary>
    public bool DeleteRequested { get; set; }

    /// <summary>Completes when a deferred delete has retired the message (or failed to).</summary>
    public TaskCompletionSource? Deleted { get; set; }

    /// <summary>The message is retired or set aside; nothing more happens to it.</summary>
    public bool Retired { get; set; }
}
