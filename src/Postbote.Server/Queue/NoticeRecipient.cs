namespace Postbote.Queue;

/// <summary>One recipient of a <see cref="DeliveryNotice"/>.</summary>
/// <param name="Index">The recipient's index in <see cref="SpoolEntry.Envelope"/>'s recipients and in
/// <see cref="SpoolEntry.States"/>; the state holds the last reply, the remote host and the last attempt time.</param>
/// <param name="Action">What happened to it (RFC 3464 §2.3.3).</param>
public readonly record struct NoticeRecipient(int Index, DsnAction Action);
