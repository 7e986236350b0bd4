/*
 * calendar_us.h
 *	  US retail holiday calendar (reference §2.6), see calendar_us.c.
 */
#ifndef SHELFOPS_CALENDAR_US_H
#define SHELFOPS_CALENDAR_US_H

#include "postgres.h"
#include "utils/date.h"

/* The holidays of the calendar; US_HOLIDAY_NONE for an ordinary day. */
typedef enum UsHoliday
{
	US_HOLIDAY_NONE = 0,
	US_HOLIDAY_NEW_YEARS_DAY,
	US_HOLIDAY_MLK_DAY,
	US_HOLIDAY_SUPER_BOWL,
	US_HOLIDAY_VALENTINES_DAY,
	US_HOLIDAY_PRESIDENTS_DAY,
	US_HOLIDAY_EASTER_SATURDAY,
	US_HOLIDAY_EASTER_SUNDAY,
	US_HOLIDAY_MOTHERS_DAY,
	US_HOLIDAY_MEMORIAL_DAY,
	US_HOLIDAY_FATHERS_DAY,
	US_HOLIDAY_INDEPENDENCE_DAY,
	US_HOLIDAY_LABOR_DAY,
	US_HOLIDAY_COLUMBUS_DAY,
	US_HOLIDAY_HALLOWEEN,
	US_HOLIDAY_THANKSGIVING,
	US_HOLIDAY_BLACK_FRIDAY,
	US_HOLIDAY_CYBER_MONDAY,
	US_HOLIDAY_CHRISTMAS_DAY,
	US_HOLIDAY_NEW_YEARS_EVE,
	US_HOLIDAY_COUNT
} UsHoliday;

/* Which holiday a (finite) date is, US_HOLIDAY_NONE if none. */
extern UsHoliday us_retail_holiday_of(DateADT date);

/* Is the date a US retail holiday? */
extern bool us_retail_holiday(DateADT date);

/* Lower-case code of a holiday ('thanksgiving', ...); NULL for US_HOLIDAY_NONE. */
extern const char *us_retail_holiday_name(UsHoliday holiday);

#endif							/* SHELFOPS_CALENDAR_US_H */
