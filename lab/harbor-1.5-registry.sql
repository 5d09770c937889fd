-- The berth lab's STAND-IN for seed 000's step 3: what `mysqldump --databases
-- registry` prints in an old single-node Harbor 1.5's harbor-db container. A
-- few of Harbor 1.5's tables (columns as its registry.sql makes them) with a
-- handful of rows, enough to see an import happen once and its rows arrive.
-- MySQL dump 10.13  Distrib 5.6.35, for Linux (x86_64)
--
-- Host: localhost    Database: registry
-- ------------------------------------------------------
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;

--
-- Current Database: `registry`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `registry` /*!40100 DEFAULT CHARACTER SET utf8 */;

USE `registry`;

--
-- Table structure for table `alembic_version`
--

DROP TABLE IF EXISTS `alembic_version`;
CREATE TABLE `alembic_version` (
  `version_num` varchar(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

LOCK TABLES `alembic_version` WRITE;
INSERT INTO `alembic_version` VALUES ('1.5.0');
UNLOCK TABLES;

--
-- Table structure for table `user`
--

DROP TABLE IF EXISTS `user`;
CREATE TABLE `user` (
  `user_id` int(11) NOT NULL AUTO_INCREMENT,
  `username` varchar(255) DEFAULT NULL,
  `email` varchar(255) DEFAULT NULL,
  `password` varchar(40) NOT NULL,
  `realname` varchar(255) NOT NULL,
  `comment` varchar(30) DEFAULT NULL,
  `deleted` tinyint(1) NOT NULL DEFAULT '0',
  `reset_uuid` varchar(40) DEFAULT NULL,
  `salt` varchar(40) DEFAULT NULL,
  `sysadmin_flag` tinyint(1) DEFAULT NULL,
  `creation_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`user_id`),
  UNIQUE KEY `username` (`username`),
  UNIQUE KEY `email` (`email`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8;

LOCK TABLES `user` WRITE;
INSERT INTO `user` VALUES (1,'admin','admin@example.com','0123456789abcdef0123456789abcdef01234567','system admin','admin user',0,NULL,'00000000000000000000000000000000',1,'2018-06-01 08:00:00','2018-06-01 08:00:00'),(2,'anonymous','anonymous@example.com','','anonymous user','anonymous user',1,NULL,NULL,0,'2018-06-01 08:00:00','2018-06-01 08:00:00');
UNLOCK TABLES;

--
-- Table structure for table `project`
--

DROP TABLE IF EXISTS `project`;
CREATE TABLE `project` (
  `project_id` int(11) NOT NULL AUTO_INCREMENT,
  `owner_id` int(11) NOT NULL,
  `name` varchar(255) NOT NULL,
  `creation_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  `deleted` tinyint(1) NOT NULL DEFAULT '0',
  PRIMARY KEY (`project_id`),
  UNIQUE KEY `name` (`name`),
  KEY `owner_id` (`owner_id`),
  CONSTRAINT `project_ibfk_1` FOREIGN KEY (`owner_id`) REFERENCES `user` (`user_id`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8;

LOCK TABLES `project` WRITE;
INSERT INTO `project` VALUES (1,1,'library','2018-06-01 08:00:00','2018-06-01 08:00:00',0),(2,1,'ops','2018-07-12 09:30:00','2018-07-12 09:30:00',0);
UNLOCK TABLES;

--
-- Table structure for table `repository`
--

DROP TABLE IF EXISTS `repository`;
CREATE TABLE `repository` (
  `repository_id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `project_id` int(11) NOT NULL,
  `description` text,
  `pull_count` int(11) NOT NULL DEFAULT '0',
  `star_count` int(11) NOT NULL DEFAULT '0',
  `creation_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`repository_id`),
  UNIQUE KEY `name` (`name`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8;

LOCK TABLES `repository` WRITE;
INSERT INTO `repository` VALUES (1,'library/nginx',1,'',42,0,'2018-06-02 10:00:00','2018-09-01 10:00:00'),(2,'library/redis',1,'',7,0,'2018-06-03 11:00:00','2018-08-01 11:00:00'),(3,'ops/backup-agent',2,'nightly',3,0,'2018-07-13 12:00:00','2018-07-20 12:00:00');
UNLOCK TABLES;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2018-09-01 12:00:00
