/*
 * nonls.c
 *	  Preloaded after libasan by scripts/asan_check.sh: gettext without
 *	  translations.  With libasan (gcc 12, and clang 14's runtime alike)
 *	  preloaded into Debian's uninstrumented postgres binary, glibc 2.36's
 *	  bindtextdomain() blocks for ever at postmaster start (the reader count of
 *	  its _nl_state_lock is found underflowed), so the sanitized server would
 *	  never start.  The test server runs with English messages anyway.
 */
#include <stddef.h>

char	   *bindtextdomain(const char *domain, const char *dir);
char	   *bind_textdomain_codeset(const char *domain, const char *codeset);
char	   *textdomain(const char *domain);
char	   *gettext(const char *msgid);
char	   *dgettext(const char *domain, const char *msgid);
char	   *dcgettext(const char *domain, const char *msgid, int category);
char	   *ngettext(const char *one, const char *many, unsigned long n);
char	   *dngettext(const char *domain, const char *one, const char *many, unsigned long n);
char	   *dcngettext(const char *domain, const char *one, const char *many, unsigned long n,
					   int category);

char *
bindtextdomain(const char *domain, const char *dir)
{
	(void) domain;
	return (char *) dir;
}

char *
bind_textdomain_codeset(const char *domain, const char *codeset)
{
	(void) domain;
	return (char *) codeset;
}

char *
textdomain(const char *domain)
{
	return (char *) (domain ? domain : "messages");
}

char *
gettext(const char *msgid)
{
	return (char *) msgid;
}

char *
dgettext(const char *domain, const char *msgid)
{
	(void) domain;
	return (char *) msgid;
}

char *
dcgettext(const char *domain, const char *msgid, int category)
{
	(void) domain;
	(void) category;
	return (char *) msgid;
}

char *
ngettext(const char *one, const char *many, unsigned long n)
{
	return (char *) (n == 1 ? one : many);
}

char *
dngettext(const char *domain, const char *one, const char *many, unsigned long n)
{
	(void) domain;
	return (char *) (n == 1 ? one : many);
}

char *
dcngettext(const char *domain, const char *one, const char *many, unsigned long n, int category)
{
	(void) domain;
	(void) category;
	return (char *) (n == 1 ? one : many);
}
