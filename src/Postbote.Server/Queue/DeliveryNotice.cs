namespace Postbote.Queue;

/// <summary>
/// What the scheduler reports after an attempt changed the fate of some recipients: failed for good, delayed past the
/// delay-notice time, or delivered. The notifier decides whether a DSN goes out (NOTIFY, the null reverse-path) and builds
/// it; the scheduler does not.
/// </summary>
/// <param name="Entry">The message with every recipient's updated status and queue state, as recorded in the spool.</param>
/// <param name="Recipients">The recipients this notice is about, each with its action; never empty.</param>
/// <param name="At">When the outcome was recorded (UTC).</param>
public sealed record DeliveryNotice(SpoolEntry Entry, IReadOnlyList<NoticeRecipient> Recipients, DateTimeOffset At);
