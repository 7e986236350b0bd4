/*
 * calendar_us.c
 *	  Owns the US retail holiday calendar of the reference (§2.6): which dates
 *	  are holidays and what each is called.  Pure integer date arithmetic, no
 *	  tables and no catalog access, so any module (synthetic data, features)
 *	  can call it per row.
 *
 * The set, every year:
 *	fixed:	 Jan 1, Feb 14, Jul 4, Oct 31, Dec 25, Dec 31;
 *	Mondays: MLK (3rd Mon Jan), Presidents' (3rd Mon Feb), Memorial (last Mon
 *			 May), Labor (1st Mon Sep), Columbus (2nd Mon Oct), Cyber Monday
 *			 (Thanksgiving + 4 days);
 *	Sundays: Super Bowl (1st Sun Feb), Mother's Day (2nd Sun May), Father's
 *			 Day (3rd Sun Jun), Easter Sunday (anonymous Gregorian algorithm)
 *			 and the Saturday before it;
 *	Thanksgiving (4th Thu Nov) and Black Friday (the day after).
 * No two of these rules can fall on the same date, so a date has at most one.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/datetime.h"

#include "calendar_us.h"

static const char *const holiday_names[US_HOLIDAY_COUNT] = {
	[US_HOLIDAY_NONE] = NULL,
	[US_HOLIDAY_NEW_YEARS_DAY] = "new_years_day",
	[US_HOLIDAY_MLK_DAY] = "mlk_day",
	[US_HOLIDAY_SUPER_BOWL] = "super_bowl",
	[US_HOLIDAY_VALENTINES_DAY] = "valentines_day",
	[US_HOLIDAY_PRESIDENTS_DAY] = "presidents_day",
	[US_HOLIDAY_EASTER_SATURDAY] = "easter_saturday",
	[US_HOLIDAY_EASTER_SUNDAY] = "easter_sunday",
	[US_HOLIDAY_MOTHERS_DAY] = "mothers_day",
	[US_HOLIDAY_MEMORIAL_DAY] = "memorial_day",
	[US_HOLIDAY_FATHERS_DAY] = "fathers_day",
	[US_HOLIDAY_INDEPENDENCE_DAY] = "independence_day",
	[US_HOLIDAY_LABOR_DAY] = "labor_day",
	[US_HOLIDAY_COLUMBUS_DAY] = "columbus_day",
	[US_HOLIDAY_HALLOWEEN] = "halloween",
	[US_HOLIDAY_THANKSGIVING] = "thanksgiving",
	[US_HOLIDAY_BLACK_FRIDAY] = "black_friday",
	[US_HOLIDAY_CYBER_MONDAY] = "cyber_monday",
	[US_HOLIDAY_CHRISTMAS_DAY] = "christmas_day",
	[US_HOLIDAY_NEW_YEARS_EVE] = "new_years_eve",
};

/* Day of month of the n-th (1-based) weekday wd (0 = Sunday) of year/month. */
static int
nth_weekday(int year, int month, int wd, int n)
{
	int			first_wd = j2day(date2j(year, month, 1));

	return 1 + (wd - first_wd + 7) % 7 + 7 * (n - 1);
}

/* Day of month of the last weekday wd of year/month (31-day months only). */
static int
last_weekday_of_31(int year, int month, int wd)
{
	int			last_wd = j2day(date2j(year, month, 31));

	return 31 - (last_wd - wd + 7) % 7;
}

/* Easter Sunday of a Gregorian year (anonymous algorithm), as month and day. */
static void
easter_sunday(int year, int *month, int *day)
{
	int			a = year % 19;
	int			b = year / 100;
	int			c = year % 100;
	int			d = b / 4;
	int			e = b % 4;
	int			f = (b + 8) / 25;
	int			g = (b - f + 1) / 3;
	int			h = (19 * a + b - d - g + 15) % 30;
	int			i = c / 4;
	int			k = c % 4;
	int			l = (32 + 2 * e + 2 * i - h - k) % 7;
	int			m = (a + 11 * h + 22 * l) / 451;

	*month = (h + l - 7 * m + 114) / 31;
	*day = (h + l - 7 * m + 114) % 31 + 1;
}

UsHoliday
us_retail_holiday_of(DateADT date)
{
	int			jd,
				y,
				m,
				d,
				wd;

	if (DATE_NOT_FINITE(date))
		return US_HOLIDAY_NONE;
	jd = date + POSTGRES_EPOCH_JDATE;
	j2date(jd, &y, &m, &d);
	wd = j2day(jd);

	switch (m)
	{
		case 1:
			if (d == 1)
				return US_HOLIDAY_NEW_YEARS_DAY;
			if (wd == 1 && d == nth_weekday(y, 1, 1, 3))
				return US_HOLIDAY_MLK_DAY;
			break;
		case 2:
			if (d == 14)
				return US_HOLIDAY_VALENTINES_DAY;
			if (wd == 0 && d == nth_weekday(y, 2, 0, 1))
				return US_HOLIDAY_SUPER_BOWL;
			if (wd == 1 && d == nth_weekday(y, 2, 1, 3))
				return US_HOLIDAY_PRESIDENTS_DAY;
			break;
		case 3:
		case 4:
			{
				int			em,
							ed,
							ejd;

				easter_sunday(y, &em, &ed);
				ejd = date2j(y, em, ed);
				if (jd == ejd)
					return US_HOLIDAY_EASTER_SUNDAY;
				if (jd == ejd - 1)
					return US_HOLIDAY_EASTER_SATURDAY;
			}
			break;
		case 5:
			if (wd == 0 && d == nth_weekday(y, 5, 0, 2))
				return US_HOLIDAY_MOTHERS_DAY;
			if (wd == 1 && d == last_weekday_of_31(y, 5, 1))
				return US_HOLIDAY_MEMORIAL_DAY;
			break;
		case 6:
			if (wd == 0 && d == nth_weekday(y, 6, 0, 3))
				return US_HOLIDAY_FATHERS_DAY;
			break;
		case 7:
			if (d == 4)
				return US_HOLIDAY_INDEPENDENCE_DAY;
			break;
		case 9:
			if (wd == 1 && d == nth_weekday(y, 9, 1, 1))
				return US_HOLIDAY_LABOR_DAY;
			break;
		case 10:
			if (d == 31)
				return US_HOLIDAY_HALLOWEEN;
			if (wd == 1 && d == nth_weekday(y, 10, 1, 2))
				return US_HOLIDAY_COLUMBUS_DAY;
			break;
		case 11:
		case 12:
			{
				int			tjd = date2j(y, 11, nth_weekday(y, 11, 4, 4));

				if (jd == tjd)
					return US_HOLIDAY_THANKSGIVING;
				if (jd == tjd + 1)
					return US_HOLIDAY_BLACK_FRIDAY;
				if (jd == tjd + 4)	/* may be Dec 1 */
					return US_HOLIDAY_CYBER_MONDAY;
				if (m == 12 && d == 25)
					return US_HOLIDAY_CHRISTMAS_DAY;
				if (m == 12 && d == 31)
					return US_HOLIDAY_NEW_YEARS_EVE;
			}
			break;
		default:
			break;
	}
	return US_HOLIDAY_NONE;
}

bool
us_retail_holiday(DateADT date)
{
	return us_retail_holiday_of(date) != US_HOLIDAY_NONE;
}

const char *
us_retail_holiday_name(UsHoliday holiday)
{
	if (holiday <= US_HOLIDAY_NONE || holiday >= US_HOLIDAY_COUNT)
		return NULL;
	return holiday_names[holiday];
}
