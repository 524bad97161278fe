"""Mail: MIME message building, DKIM, SMTP/Maildir transports and the shared rate limit.

Import from the submodules (`newsletter.mail.message`, `.transport`, `.ratelimit`); this
package keeps no state of its own.
"""
